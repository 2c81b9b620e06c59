"""The SSRF guard: link-local and metadata addresses are refused, literal or behind a name; loopback and private
networks pass; an allowed network lifts the block; a name that does not resolve is left to fail on its own."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from chalicelib.adapters.http.guard import check_host, check_url, networks
from chalicelib.errors import InvalidInput


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",
        "https://[fe80::1]/index.yaml",
        "https://[::ffff:169.254.169.254]/x.tgz",  # IPv4-mapped IPv6
        "https://[fd00:ec2::254]/",
        "oci://100.100.100.200/charts/demo",
        "https://0.0.0.0:8080/index.yaml",
        "https://224.0.0.1/x.tgz",
    ],
)
def test_blocked_addresses_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_url(url, (), "url")
    assert exc.value.field == "url" and "link-local or metadata" in exc.value.message


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:8443/index.yaml", "http://10.1.2.3/x.tgz", "oci://192.168.0.5:5000/c", "https://[::1]/"]
)
def test_loopback_and_private_networks_pass(url: str) -> None:
    check_url(url, (), "url")


def test_an_allowed_network_lifts_the_block_for_that_network_only() -> None:
    allowed = networks(("169.254.170.0/24",))
    check_url("http://169.254.170.2/", allowed, "url")
    with pytest.raises(InvalidInput):
        check_url("http://169.254.169.254/", allowed, "url")


def test_every_address_of_a_name_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {
        "charts.example": ["10.0.0.8"],
        "sneaky.example": ["10.0.0.9", "169.254.169.254"],
    }

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    check_host("charts.example", 443, (), "url")
    with pytest.raises(InvalidInput) as exc:
        check_url("https://sneaky.example/index.yaml", (), "repository")
    assert exc.value.field == "repository" and "sneaky.example" in exc.value.message
    check_url("https://nowhere.example/x.tgz", (), "url")  # unresolvable: the connection fails on its own
