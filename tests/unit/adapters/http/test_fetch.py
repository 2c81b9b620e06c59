"""Outbound fetching: credentials go only to the repository's own origin."""

from __future__ import annotations

import base64

from chalicelib.adapters.http.fetch import Access


def test_credentials_only_for_the_repository_origin() -> None:
    access = Access("https://charts.example/stable", username="u", password="p")
    assert access.authorization("https://charts.example/stable/x.tgz") == "Basic " + base64.b64encode(b"u:p").decode()
    assert access.authorization("https://cdn.example/x.tgz") is None
    assert access.authorization("http://charts.example/stable/x.tgz") is None  # not downgraded to plain HTTP
    passing = Access("https://charts.example", token="t", pass_credentials=True)
    assert passing.authorization("https://cdn.example/x.tgz") == "Bearer t"
    assert access.secrets == ("p",)
