"""Helpers shared by the values tests."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain import values as V
from chalicelib.errors import InvalidInput

SMALL = V.Limits(max_bytes=2000, max_depth=3, max_nodes=50, max_set_entries=3, max_files=3)


def short(value: object) -> str | None:
    """Readable test ids for long string parameters (None: pytest's default id)."""
    if isinstance(value, str) and len(value) > 40:
        return value[:30].encode("unicode_escape").decode() + f"...<{len(value)} chars>"
    return None


def raises(exc: type[InvalidInput], call: Any, *args: Any, **kwargs: Any) -> InvalidInput:
    """Call and return the exception of class ``exc`` it raised."""
    with pytest.raises(exc) as info:
        call(*args, **kwargs)
    return info.value
