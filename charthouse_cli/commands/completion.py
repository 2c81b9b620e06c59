"""``charthouse completion bash|zsh``: a completion script generated from the parser itself, so it always
knows every command, alias and option."""

from __future__ import annotations

import argparse
from typing import Any

from .common import Context, command

BASH = """# charthouse completion for bash: eval "$(charthouse completion bash)" (or save it in
# /etc/bash_completion.d/charthouse)
_charthouse() {
    local cur words1 words2 opts
    cur="${COMP_WORDS[COMP_CWORD]}"
    words1="${COMP_WORDS[1]}"
    words2="${COMP_WORDS[2]}"
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=( $(compgen -W "%(top)s" -- "$cur") )
        return
    fi
    case "$words1" in
%(groups)s
    esac
    if [[ $COMP_CWORD -eq 2 ]]; then
        COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
        return
    fi
    case "$words1 $words2" in
%(leaves)s
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
    else
        COMPREPLY=( $(compgen -f -- "$cur") )
    fi
}
complete -o default -F _charthouse charthouse
"""
ZSH = """#compdef charthouse
# charthouse completion for zsh: eval "$(charthouse completion zsh)" (uses zsh's bash completion support)
autoload -U +X bashcompinit && bashcompinit
"""


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse has no public walk over its tree
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """Long options, and the choices of positional arguments (``completion bash|zsh``)."""
    words = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
    words += [
        str(c)
        for a in parser._actions
        if not a.option_strings and a.choices and not isinstance(a, argparse._SubParsersAction)
        for c in a.choices
    ]
    return sorted(words)


def bash_script(root: argparse.ArgumentParser) -> str:
    groups, leaves = [], []
    top = _subparsers(root)
    for name, grp in top.items():
        children = _subparsers(grp)
        words = " ".join(sorted(children)) if children else " ".join(_options(grp))
        groups.append(f'        {name}) opts="{words}" ;;')
        for child, leaf in children.items():
            leaves.append(f'        "{name} {child}") opts="{" ".join(_options(leaf))}" ;;')
    return BASH % {
        "top": " ".join(sorted(top)) + " --help --version",
        "groups": "\n".join(groups),
        "leaves": "\n".join(leaves),
    }


def run(ctx: Context, args: argparse.Namespace) -> int:
    script = bash_script(args.root_parser)
    ctx.stdout.write(script if args.shell == "bash" else ZSH + script)
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = command(
        sub,
        "completion",
        run,
        "print a shell completion script",
        """
  eval "$(charthouse completion bash)"                     # this shell; add it to ~/.bashrc to keep it
  charthouse completion zsh > "${fpath[1]}/_charthouse"    # zsh
""",
        [],
    )
    p.add_argument("shell", choices=["bash", "zsh"])
