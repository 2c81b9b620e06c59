"""Request fields: each declared once with a schema; a spec table naming an undeclared field fails at import."""

from __future__ import annotations

from enum import Enum

import pytest

from chalicelib.domain import fields, models
from chalicelib.errors import InvalidInput


def test_declare_refuses_a_field_without_a_schema() -> None:
    with pytest.raises(LookupError, match="no_such_field"):
        fields.declare("wait", "no_such_field")


@pytest.mark.parametrize(
    "table",
    [
        models.INSTALL_FIELDS,
        models.UPGRADE_FIELDS,
        models.ROLLBACK_FIELDS,
        models.UNINSTALL_FIELDS,
        models.UNLOCK_FIELDS,
        models.RECONCILE_FIELDS,
    ],
)
def test_every_field_of_every_spec_has_a_typed_schema(table: frozenset[str]) -> None:
    schema = fields.body_schema(table)
    assert set(schema["properties"]) == table and schema["additionalProperties"] is False
    for name, field_schema in schema["properties"].items():
        assert "type" in field_schema or "oneOf" in field_schema, name


def test_set_sensitive_is_a_list_of_assignments() -> None:
    assert fields.SCHEMAS["set_sensitive"]["type"] == "array"
    assert fields.SCHEMAS["set_sensitive"]["items"]["type"] == "string"


def test_the_parser_accepts_exactly_the_declared_fields() -> None:
    limits = models.Limits(300, 300, 10, True)
    spec = models.UpgradeSpec.from_json({"chart": "repo/web", "set_sensitive": ["db.password=s3cret"]}, limits)
    assert spec.sensitive_paths == (("db", "password"),) and spec.values == {"db": {"password": "s3cret"}}
    with pytest.raises(Exception, match="undeclared"):
        models.UpgradeSpec.from_json({"chart": "repo/web", "undeclared": True}, limits)


# ---------------------------------------------------------------- Body: every other request body


EXAMPLE = fields.Body({"a": fields.STR, "b": fields.BOOL, "c": fields.STR}, required=("a",), description="an example")


def test_a_body_publishes_exactly_what_its_parser_accepts() -> None:
    schema = EXAMPLE.schema()
    assert schema == {
        "type": "object",
        "description": "an example",
        "required": ["a"],
        "properties": {"a": fields.STR, "b": fields.BOOL, "c": fields.STR},
        "additionalProperties": False,
    }
    assert EXAMPLE.names == frozenset(schema["properties"])
    EXAMPLE.check({"a": "x", "b": True})
    with pytest.raises(InvalidInput) as err:
        EXAMPLE.check({"a": "x", "d": 1}, "outer.")
    assert err.value.field == "outer.d"


def test_a_form_of_a_body_is_a_subset_of_it() -> None:
    with pytest.raises(InvalidInput) as err:
        EXAMPLE.check({"a": "x", "c": "y"}, names=("a", "b"))
    assert err.value.field == "c"
    with pytest.raises(LookupError, match="zz"):
        EXAMPLE.check({}, names=("a", "zz"))


def test_a_required_field_needs_a_schema() -> None:
    with pytest.raises(LookupError, match="missing"):
        fields.Body({"a": fields.STR}, required=("missing",))


class Colour(str, Enum):
    RED = "red"
    BLUE = "blue"


def test_enum_schemas_come_from_the_codes_lists() -> None:
    assert fields.enum(Colour) == {"type": "string", "enum": ["red", "blue"]}
    assert fields.enum(("a", "b"), "two") == {"type": "string", "enum": ["a", "b"], "description": "two"}
