"""``charthouse release diff``: the service's diffs printed, --exit-code when anything would change."""

from __future__ import annotations

from tests.unit.cli.fakeapi import FakeApi, run


def test_release_diff_prints_the_diffs(fake: FakeApi) -> None:
    answer = {"action": "upgrade", "summary": {"changed": 1, "unchanged": 2}, "objects": [{"diff": "-x\n+y\n"}]}
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases/web/diff", (200, answer))
    code, out, _ = run(fake, "release", "diff", "web", "repo/web", "--set", "a=1", "--exit-code")
    assert code == 1 and out.startswith("-x\n+y\n") and "1 changed" in out
    assert fake.requests[-1]["body"] == {"chart": "repo/web", "set": ["a=1"]}
