"""A local chart argument: packaged, uploaded once per content, installed as uploaded/NAME at its version; paths
that are not there are refused with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.cli.fakeapi import FakeApi, op, run

CHART = {"Chart.yaml": "apiVersion: v2\nname: hello\nversion: 0.3.0\n", "templates/cm.yaml": "kind: ConfigMap\n"}
STORED = {"repository": "uploaded", "name": "hello", "version": "0.3.0"}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_create_from_a_directory_uploads_then_installs(fake: FakeApi, tmp_path: Path) -> None:
    write(tmp_path / "hello", CHART)
    fake.on("POST", "/v1/charts", (201, STORED), (200, STORED))
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases", (202, op("succeeded")))
    code, _, err = run(fake, "release", "create", "web", "./hello", "--no-wait")
    assert code == 0, err
    upload, install = fake.requests
    assert upload["headers"]["Content-Type"] == "application/gzip" and upload["body"][:2] == b"\x1f\x8b"
    assert install["body"]["chart"] == "uploaded/hello" and install["body"]["version"] == "0.3.0"
    assert "packaging ./hello" in err and "stored as uploaded/hello 0.3.0" in err
    # the same directory again: the same bytes, which the service answers "already stored"
    code, _, err = run(fake, "release", "create", "web2", "./hello", "--no-wait")
    assert code == 0 and "already stored (same bytes)" in err
    assert fake.requests[2]["body"] == upload["body"]


def test_upgrade_and_push_take_a_tgz_too(fake: FakeApi, tmp_path: Path) -> None:
    write(tmp_path / "hello", CHART)
    fake.on("POST", "/v1/charts", (200, STORED))
    code, out, err = run(fake, "chart", "push", "hello", "-o", "json")
    assert code == 0, err
    archive = fake.requests[-1]["body"]
    (tmp_path / "hello-0.3.0.tgz").write_bytes(archive)
    fake.on("PUT", "/v1/clusters/local/namespaces/default/releases/web", (202, op("queued")))
    code, _, err = run(fake, "release", "upgrade", "web", "hello-0.3.0.tgz", "--no-wait")
    assert code == 0, err
    assert fake.requests[-2]["body"] == archive
    assert fake.requests[-1]["body"]["chart"] == "uploaded/hello"


def test_a_changed_chart_of_the_same_version_names_the_fix(fake: FakeApi, tmp_path: Path) -> None:
    write(tmp_path / "hello", CHART)
    conflict = {"error": {"code": "Conflict", "message": "other bytes", "details": {}}}
    fake.on("POST", "/v1/charts", (409, conflict))
    code, _, err = run(fake, "release", "create", "web", "./hello")
    assert code == 2 and "bump `version` in Chart.yaml" in err and "chart push ./hello --overwrite" in err
    assert [r["method"] for r in fake.requests] == ["POST"]  # nothing installed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["./nothere"], "./nothere: no such file or directory"),
        (["./hellp"], "did you mean ./hello?"),
        (["missing-1.0.0.tgz"], "no such file or directory"),
        (["a/b/c"], "does not exist either"),
        (["empty"], "has no Chart.yaml"),
        (["hello-chart"], "neither a local chart nor a chart reference"),
        (["./hello", "--version", "1.0.0"], "--version does not apply"),
    ],
)
def test_paths_that_are_not_charts_are_refused_with_the_fix(
    fake: FakeApi, tmp_path: Path, argv: list[str], message: str
) -> None:
    write(tmp_path / "hello", CHART)
    (tmp_path / "empty").mkdir()
    code, _, err = run(fake, "release", "create", "web", *argv)
    assert code == 2 and message in err, err
    assert fake.requests == []


def test_missing_dependencies_need_dependency_update(fake: FakeApi, tmp_path: Path) -> None:
    deps = {**CHART, "Chart.yaml": CHART["Chart.yaml"] + "dependencies:\n- {name: redis, repository: '@stable'}\n"}
    write(tmp_path / "hello", deps)
    code, _, err = run(fake, "release", "create", "web", "./hello")
    assert code == 2 and "redis" in err and "--dependency-update" in err and fake.requests == []
    fake.on("POST", "/v1/charts", (201, STORED))
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases", (202, op("queued")))
    code, _, err = run(fake, "release", "create", "web", "./hello", "--dependency-update", "--no-wait")
    assert code == 0, err
    assert fake.requests[-1]["body"]["dependency_update"] is True


def test_references_pass_through_unchanged(fake: FakeApi) -> None:
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases", (202, op("queued")))
    for ref in ("repo/web", "oci://r.example/c/web", "https://x.example/web-1.0.0.tgz", "uploaded/web"):
        assert run(fake, "release", "create", "web", ref, "--no-wait")[0] == 0
        assert fake.requests[-1]["body"]["chart"] == ref


def test_file_dependencies_are_refused_before_anything_is_sent(fake: FakeApi, tmp_path: Path) -> None:
    deps = {**CHART, "Chart.yaml": CHART["Chart.yaml"] + "dependencies:\n- {name: lib, repository: 'file://../lib'}\n"}
    write(tmp_path / "hello", deps)
    code, _, err = run(fake, "release", "create", "web", "./hello", "--dependency-update")
    assert code == 2 and "file://" in err and "helm dependency build" in err and fake.requests == []
