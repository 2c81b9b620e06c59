"""multipart/form-data bodies (RFC 7578): one parser for every upload route, standard library only.

``parse(content_type, body)`` returns the parts in order; ``Form`` finds them by field name. Bounded: at most
``MAX_PARTS`` parts and ``MAX_HEADER_BYTES`` of headers per part; a malformed body is an ``InvalidInput`` naming
``body`` (or the field), never an exception of the parser's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.errors import InvalidInput

MEDIA_TYPE = "multipart/form-data"
MAX_PARTS = 32
MAX_HEADER_BYTES = 8 * 1024
_BOUNDARY = re.compile(r"""(?:^|;)\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;"]{1,200}))""", re.IGNORECASE)
_PARAM = re.compile(r""";\s*([A-Za-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))""")


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(self.name, "is not UTF-8 text") from exc


@dataclass(frozen=True)
class Form:
    parts: tuple[Part, ...]

    def get(self, name: str) -> Part | None:
        """The first part called ``name``."""
        return next((p for p in self.parts if p.name == name), None)

    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts)


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == MEDIA_TYPE


def boundary_of(content_type: str) -> str:
    if not is_multipart(content_type):
        raise InvalidInput("Content-Type", f"must be {MEDIA_TYPE}")
    found = _BOUNDARY.search(content_type.split(";", 1)[1] if ";" in content_type else "")
    if not found:
        raise InvalidInput("Content-Type", "multipart/form-data needs a boundary parameter")
    return found.group(1) or found.group(2)


def parse(content_type: str, body: bytes) -> Form:
    """The parts of a multipart/form-data ``body`` sent with ``content_type``."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise InvalidInput("body", "is not multipart/form-data with the boundary of its Content-Type")
    if not chunks[-1].startswith(b"--"):
        raise InvalidInput("body", "the multipart body does not end with its closing boundary")
    middle = chunks[1:-1]
    if len(middle) > MAX_PARTS:
        raise InvalidInput("body", f"has more than {MAX_PARTS} parts")
    return Form(tuple(_part(chunk) for chunk in middle))


def _part(chunk: bytes) -> Part:
    if not chunk.startswith(b"\r\n"):
        raise InvalidInput("body", "a multipart boundary is not followed by a line break")
    head, sep, data = chunk[2:].partition(b"\r\n\r\n")
    if not sep:
        if chunk[2:].startswith(b"\r\n"):  # a part without headers
            head, data = b"", chunk[4:]
        else:
            raise InvalidInput("body", "a multipart part has no blank line after its headers")
    if len(head) > MAX_HEADER_BYTES:
        raise InvalidInput("body", "a multipart part's headers are too long")
    if not data.endswith(b"\r\n"):
        raise InvalidInput("body", "a multipart part does not end with a line break before the boundary")
    headers = _headers(head.decode("utf-8", errors="replace"))
    disposition = headers.get("content-disposition", "")
    if disposition.split(";")[0].strip().lower() != "form-data":
        raise InvalidInput("body", "every multipart part needs Content-Disposition: form-data")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM.finditer(disposition)
    }
    name = params.get("name")
    if not name:
        raise InvalidInput("body", "a multipart part has no name in its Content-Disposition")
    filename = params.get("filename")
    return Part(
        name, data[:-2], filename.replace('\\"', '"') if filename is not None else None, headers.get("content-type")
    )


def _headers(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.split("\r\n"):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise InvalidInput("body", "a multipart part has a header line without ':'")
        out[key.strip().lower()] = value.strip()
    return out


def encode(fields: list[tuple[str, str | bytes, str | None]], boundary: str) -> tuple[str, bytes]:
    """(content type, body) of a form: ``(name, value, filename)`` each; for tests and clients."""
    out = bytearray()
    for name, value, filename in fields:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += disposition.encode() + b"\r\n"
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + (value.encode() if isinstance(value, str) else value) + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"{MEDIA_TYPE}; boundary={boundary}", bytes(out)
