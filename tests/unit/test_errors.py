"""The error tree: drawn in ``errors.py``'s docstring exactly as the classes inherit, each code stable and unique,
details without empty values, the field and the operation named where the tree says."""

from __future__ import annotations

import inspect
import re

from chalicelib import errors


def _drawn() -> dict[str, str]:
    """class -> its parent, as the docstring's tree draws it."""
    doc = errors.__doc__ or ""
    parents: dict[str, str] = {}
    stack: list[str] = []
    for line in doc.splitlines():
        match = re.match(r"^(\s*(?:[│ ]   )*(?:[├└]── )?)([A-Z][A-Za-z]+)", line)
        if not match or not ("──" in line or line.strip().startswith("CharthouseError")):
            continue
        depth = (len(match.group(1)) - 4) // 4  # the tree is indented by 4, each level by 4 more
        name = match.group(2)
        stack[depth:] = [name]
        if depth:
            parents[name] = stack[depth - 1]
    return parents


def _classes() -> dict[str, type[errors.CharthouseError]]:
    return {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.CharthouseError) and cls.__module__ == errors.__name__
    }


def test_the_docstring_draws_every_class_under_its_parent() -> None:
    drawn, classes = _drawn(), _classes()
    assert set(drawn) | {"CharthouseError"} == set(classes)
    for name, parent in drawn.items():
        assert classes[name].__bases__ == (classes[parent],), f"{name} is drawn under {parent}"


def test_codes_are_unique() -> None:
    codes = [cls.code for name, cls in _classes().items() if name != "CharthouseError"]
    assert len(codes) == len(set(codes))


def test_details_leave_out_empty_values() -> None:
    err = errors.ReleaseLocked("busy", operation_id=None)
    assert err.details == {} and err.operation_id is None
    err = errors.InvalidInput("values.port", "must be a number")
    assert err.field == "values.port" and err.details == {"field": "values.port"}
    assert str(err) == "values.port: must be a number"


def test_helm_errors_carry_what_helm_said() -> None:
    err = errors.ChartNotFound("404", returncode=1, stderr="Error: 404 Not Found")
    assert isinstance(err, errors.UpstreamError) and err.returncode == 1 and err.stderr.startswith("Error:")
    assert err.details == {"returncode": 1}  # stderr is never shown: only the redacted message is
