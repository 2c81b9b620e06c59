"""What helm prints, read: the JSON object of a verb's ``--output json`` (after any progress lines) and the test
hooks' results of ``helm status -o json``. Pure."""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.errors import HelmError


def json_object(text: str, verb: str) -> dict[str, Any]:
    """helm's JSON output. Some flags (``--dependency-update``) print progress lines first: the object is the
    first line that starts with ``{``."""
    starts = [0] if text.lstrip().startswith("{") else []
    starts += [m.start() + 1 for m in re.finditer(r"\n\{", text)]
    for start in starts:
        try:
            data, _ = json.JSONDecoder().raw_decode(text.lstrip() if start == 0 else text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    raise HelmError(f"helm {verb} printed output that is not a JSON object")


def json_list(text: str) -> list[Any]:
    """A JSON array helm printed (``history``, ``list``); empty output or another shape is no entries."""
    data = json.loads(text or "[]")
    return data if isinstance(data, list) else []


def test_results(status: dict[str, Any]) -> list[dict[str, Any]]:
    """The release's test hooks as ``helm status -o json`` reports their last run: name, kind, phase, times."""
    out = []
    for hook in status.get("hooks") or []:
        if "test" not in (hook.get("events") or []) and "test-success" not in (hook.get("events") or []):
            continue
        run_ = hook.get("last_run") or {}
        out.append(
            {
                "name": str(hook.get("name") or ""),
                "kind": str(hook.get("kind") or ""),
                "phase": str(run_.get("phase") or "Unknown"),
                "started_at": run_.get("started_at") or None,
                "completed_at": run_.get("completed_at") or None,
            }
        )
    return out
