"""The local stack's configuration: an isolated stack keeps every server's port, the Git server's included."""

from __future__ import annotations

import json
from pathlib import Path

from devstack.stack import ISOLATED_PORTS, config_of, parse_args


def test_an_isolated_stack_keeps_all_its_ports_between_starts(tmp_path: Path) -> None:
    """A port left out of ports.json (the Git server's once was) fell back to a fixed one and collided with `make
    run` beside it."""
    args = parse_args(["--isolated", "--state-dir", str(tmp_path)])
    first = config_of(args)
    saved = json.loads((tmp_path / "ports.json").read_text())
    assert set(ISOLATED_PORTS) <= set(saved) and first.git_port != 8077
    again = config_of(args)
    assert [getattr(again, p) for p in ISOLATED_PORTS] == [getattr(first, p) for p in ISOLATED_PORTS]
