"""``charthouse completion``: the bash and zsh scripts know every command."""

from __future__ import annotations

import io

from charthouse_cli.main import main


def test_completion_scripts_know_every_command() -> None:
    out = io.StringIO()
    assert main(["completion", "bash"], stdout=out) == 0
    script = out.getvalue()
    assert "complete -o default -F _charthouse charthouse" in script
    assert '"release create") opts="' in script and "--set-string" in script and "--no-wait" in script
    for noun in ("release", "cluster", "repo", "chart", "operation", "completion"):
        assert noun in script
    out = io.StringIO()
    assert main(["completion", "zsh"], stdout=out) == 0
    assert out.getvalue().startswith("#compdef charthouse") and "bashcompinit" in out.getvalue()
