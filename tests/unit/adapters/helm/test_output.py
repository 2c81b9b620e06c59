"""Reading what helm prints: the JSON object after progress lines, arrays, the test hooks' results."""

from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.adapters.helm import output
from chalicelib.adapters.helm.output import json_list, json_object


def test_helm_json_after_progress_lines() -> None:
    assert json_object('{"name": "a"}', "install") == {"name": "a"}
    assert json_object('  \n{"name": "a"}\n', "install") == {"name": "a"}
    text = 'Hang tight...\n...Successfully got an update\n{"name": "a", "x": "{"}\n'
    assert json_object(text, "install")["name"] == "a"
    assert json_object('{broken\n{"name": "b"}', "upgrade") == {"name": "b"}  # the first object that parses


@pytest.mark.parametrize("text", ["Error-free but no JSON\n[1]\n", "", "[]", '"a string"'])
def test_output_that_is_no_object_is_a_helm_error(text: str) -> None:
    with pytest.raises(errors.HelmError, match="helm status printed output that is not a JSON object"):
        json_object(text, "status")


def test_json_list() -> None:
    assert json_list('[{"revision": 1}]') == [{"revision": 1}]
    assert json_list("") == [] and json_list("{}") == [] and json_list("null") == []


def test_results_of_the_test_hooks() -> None:
    status = {
        "hooks": [
            {"name": "web-init", "kind": "Job", "events": ["pre-install"], "last_run": {"phase": "Succeeded"}},
            {
                "name": "web-test",
                "kind": "Pod",
                "events": ["test"],
                "last_run": {"started_at": "t0", "completed_at": "t1", "phase": "Failed"},
            },
            {"name": "web-legacy", "kind": "Pod", "events": ["test-success"]},  # helm 2's name, never run
            {"name": "no-events", "kind": "Pod", "events": None},
        ]
    }
    assert output.test_results(status) == [
        {"name": "web-test", "kind": "Pod", "phase": "Failed", "started_at": "t0", "completed_at": "t1"},
        {"name": "web-legacy", "kind": "Pod", "phase": "Unknown", "started_at": None, "completed_at": None},
    ]
    assert output.test_results({}) == [] and output.test_results({"hooks": None}) == []
