"""The OpenAPI building blocks: responses, parameters, references that must point at a declared component, the
enums taken from the code's enums."""

from __future__ import annotations

import pytest

from chalicelib.api import schemas as s
from chalicelib.domain.models import Action, OperationStatus


def test_enums_come_from_the_code() -> None:
    assert s.ACTIONS == [a.value for a in Action] and "install" in s.ACTIONS
    assert s.OPERATION_STATUSES == [x.value for x in OperationStatus]


def test_a_reference_must_name_a_component() -> None:
    assert s.ref("Operation") == {"$ref": "#/components/schemas/Operation"}
    with pytest.raises(LookupError, match="no schema component Nope"):
        s.ref("Nope")


def test_error_responses_carry_the_error_component() -> None:
    out = s.errors(404, 422)
    assert set(out) == {"404", "422"} and out["422"]["description"] == "invalid field"
    assert out["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    with pytest.raises(KeyError):
        s.errors(418)  # a status the API never answers is not documented by accident


def test_path_parameters_are_always_required() -> None:
    assert s.param("cluster", "path")["required"] is True
    assert s.param("limit")["required"] is False and s.param("limit", required=True)["required"] is True
    for name, p in s.PATH_PARAMS.items():
        assert p["name"] == name and p["in"] == "path" and p["required"] is True


def test_listings_and_yaml_answers() -> None:
    paged = s.listing("releases", s.ref("Release"), paged=True)["content"]["application/json"]["schema"]
    assert paged["required"] == ["next_token", "releases"] and paged["properties"]["next_token"]["nullable"]
    plain = s.listing("clusters", s.OBJECT)["content"]["application/json"]["schema"]
    assert plain["required"] == ["clusters"] and "next_token" not in plain["properties"]
    assert set(s.yaml_or_json(s.OBJECT)["content"]) == {"application/json", "application/yaml"}


def test_finished_answers_either_shape() -> None:
    alone = s.finished(None)["content"]["application/json"]["schema"]
    assert alone == {"$ref": "#/components/schemas/FinishedOperation"}
    both = s.finished(s.json_response(s.ref("DryRun"), "a dry run"))
    assert both["content"]["application/json"]["schema"]["anyOf"][0] == {"$ref": "#/components/schemas/DryRun"}
    assert both["description"].endswith("or a dry run")


def test_every_reference_inside_the_components_resolves() -> None:
    import json

    text = json.dumps(s.COMPONENTS)
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs <= set(s.COMPONENTS)
