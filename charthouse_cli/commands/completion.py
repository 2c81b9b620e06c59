"""``charthouse completion bash|zsh|fish``: the shell code that hands completion to argcomplete, which completes
commands, options and choices from the parser itself, and real names (clusters, namespaces, releases,
repositories, charts, revisions, operations, contexts) from the API through ``completers.py``."""

from __future__ import annotations

import argparse
from typing import Any

from .common import Context, command

SHELLS = ("bash", "zsh", "fish")


def run(ctx: Context, args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    ctx.stdout.write(shellcode(["charthouse"], shell=args.shell))
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = command(
        sub,
        "completion",
        run,
        "print a shell completion script (bash, zsh, fish): commands, options and real names from the API",
        """
  eval "$(charthouse completion bash)"                          # this shell; add it to ~/.bashrc to keep it
  charthouse completion zsh > "${fpath[1]}/_charthouse"         # zsh (after compinit), or eval it
  charthouse completion fish > ~/.config/fish/completions/charthouse.fish
Names come from the API, cached 10 s in ~/.cache/charthouse/completion/; an endpoint that does not answer
within 2 s completes nothing rather than hanging the shell.
""",
        [],
        offline=True,
    )
    p.add_argument("shell", choices=SHELLS)
