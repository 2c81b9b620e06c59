"""multipart/form-data parsing: what clients send (requests-toolbelt, as the Huawei SDK does), and what is refused."""

from __future__ import annotations

import pytest
from requests_toolbelt import MultipartEncoder

from chalicelib.domain import multipart
from chalicelib.errors import InvalidInput


def test_round_trip_keeps_bytes_and_names() -> None:
    archive = b"\x1f\x8b\x08\x00binary\r\n--not-a-boundary\r\n\x00"
    ctype, body = multipart.encode([("parameters", '{"override":true}', None), ("content", archive, "a.tgz")], "B0")
    form = multipart.parse(ctype, body)
    assert form.names() == ("parameters", "content")
    assert form.get("parameters") and form.get("parameters").text() == '{"override":true}'  # type: ignore[union-attr]
    content = form.get("content")
    assert content is not None and content.data == archive and content.filename == "a.tgz"
    assert form.get("missing") is None


def test_parses_what_requests_toolbelt_sends() -> None:
    enc = MultipartEncoder(
        fields={"parameters": '{"source":"package"}', "content": ("c.tgz", b"\x1f\x8bdata", "application/gzip")}
    )
    form = multipart.parse(enc.content_type, enc.to_string())
    assert form.get("content") is not None and form.get("content").data == b"\x1f\x8bdata"  # type: ignore[union-attr]
    assert form.get("content").content_type == "application/gzip"  # type: ignore[union-attr]


def test_a_quoted_boundary() -> None:
    _, body = multipart.encode([("a", "1", None)], "x y")
    assert multipart.parse('multipart/form-data; boundary="x y"', body).get("a") is not None


@pytest.mark.parametrize(
    ("ctype", "body", "field"),
    [
        ("application/json", b"{}", "Content-Type"),
        ("multipart/form-data", b"", "Content-Type"),
        ("multipart/form-data; boundary=b", b"no parts at all", "body"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b", "body"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--\r\n", "body"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--\r\n", "body"),
        ("multipart/form-data; boundary=b", b"--b\r\nbroken header\r\n\r\n1\r\n--b--\r\n", "body"),
    ],
)
def test_malformed_bodies_name_the_field(ctype: str, body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        multipart.parse(ctype, body)
    assert err.value.field == field


def test_too_many_parts() -> None:
    ctype, body = multipart.encode([(f"f{i}", "x", None) for i in range(multipart.MAX_PARTS + 1)], "b")
    with pytest.raises(InvalidInput, match="parts"):
        multipart.parse(ctype, body)


def test_is_multipart() -> None:
    assert multipart.is_multipart("Multipart/Form-Data; boundary=x")
    assert not multipart.is_multipart("application/gzip") and not multipart.is_multipart(None)
