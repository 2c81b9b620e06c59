"""The route guard: a route called outside the middleware has no caller, and says so."""

from __future__ import annotations

import pytest

from chalicelib.api import guard
from chalicelib.errors import Unauthenticated


def test_a_route_called_outside_the_middleware_has_no_caller() -> None:
    with pytest.raises(Unauthenticated) as exc:
        guard.principal()
    assert exc.value.message == "no authenticated caller" and exc.value.code == "Unauthenticated"
