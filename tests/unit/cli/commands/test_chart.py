"""``charthouse chart upload``: direct, and through a presigned URL that is never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from charthouse_cli import localchart
from tests.unit.cli.fakeapi import FakeApi, chart_archive, run


def test_chart_upload_direct_and_presigned(fake: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tgz = tmp_path / "web-1.0.0.tgz"
    tgz.write_bytes(chart_archive("web", "1.0.0"))
    uploaded = {"repository": "uploaded", "name": "web", "version": "1.0.0"}
    fake.on("POST", "/v1/charts", (201, uploaded))
    code, out, err = run(fake, "chart", "upload", str(tgz))
    assert code == 0, err
    assert fake.requests[-1]["headers"]["Content-Type"] == "application/gzip"
    assert fake.requests[-1]["body"] == tgz.read_bytes()
    assert "uploaded/web" in err

    monkeypatch.setattr(localchart, "DIRECT_UPLOAD_MAX_BYTES", 10)
    presigned = f"{fake.url}/blob/secret-signature"
    fake.on(
        "POST",
        "/v1/charts/uploads",
        (
            200,
            {
                "upload_id": "up-1",
                "url": presigned,
                "method": "PUT",
                "headers": {"Content-Type": "application/gzip"},
                "max_bytes": 100000,
            },
        ),
    )
    fake.on("PUT", "/blob/secret-signature", (200, None))
    code, out, err = run(fake, "chart", "upload", str(tgz))
    assert code == 0, err
    assert [(r["method"], r["path"]) for r in fake.requests[-3:]] == [
        ("POST", "/v1/charts/uploads"),
        ("PUT", "/blob/secret-signature"),
        ("POST", "/v1/charts"),
    ]
    assert "Authorization" not in fake.requests[-2]["headers"]
    assert fake.requests[-1]["body"] == {"upload_id": "up-1"}
    assert "secret-signature" not in out + err

    (tmp_path / "plain.txt").write_text("not a chart")
    assert run(fake, "chart", "upload", str(tmp_path / "plain.txt"))[0] == 2
