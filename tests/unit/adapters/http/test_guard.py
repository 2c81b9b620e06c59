"""The SSRF guard: link-local and metadata addresses are refused, literal or behind a name; loopback only in the
local stages; private networks pass; an allowed network lifts the block; a name that does not resolve is left to
fail on its own."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from chalicelib.adapters.http.guard import Policy, check_host, check_url, networks, resolve
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
        check_url(url, Policy(loopback=True), "url")
    assert exc.value.field == "url" and "link-local or metadata" in exc.value.message


LOOPBACK_URLS = [
    "https://127.0.0.1:8443/index.yaml",
    "http://127.9.9.9/x.tgz",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
]


@pytest.mark.parametrize("url", [*LOOPBACK_URLS, "http://10.1.2.3/x.tgz", "oci://192.168.0.5:5000/c"])
@pytest.mark.parametrize("stage", ["local", "test"])
def test_loopback_and_private_networks_pass_in_the_local_stages(url: str, stage: str) -> None:
    check_url(url, Policy.for_stage(stage), "url")


@pytest.mark.parametrize("url", LOOPBACK_URLS)
@pytest.mark.parametrize("stage", ["dev", "prod", "staging"])
def test_loopback_is_refused_in_every_other_stage(url: str, stage: str) -> None:
    """In Lambda, loopback is the Runtime API (127.0.0.1:9001) and the extensions API."""
    with pytest.raises(InvalidInput) as exc:
        check_url(url, Policy.for_stage(stage), "chart")
    assert exc.value.field == "chart" and "loopback" in exc.value.message
    check_url("http://10.1.2.3/x.tgz", Policy.for_stage(stage), "chart")  # private networks still pass
    check_url(url, Policy.for_stage(stage, ("127.0.0.0/8", "::1/128")), "chart")  # unless an allowed network


def test_the_default_policy_is_a_deployed_stage() -> None:
    with pytest.raises(InvalidInput):
        check_url("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", Policy(), "url")


def test_an_allowed_network_lifts_the_block_for_that_network_only() -> None:
    allowed = Policy(networks(("169.254.170.0/24",)))
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
    check_host("charts.example", 443, Policy(), "url")
    with pytest.raises(InvalidInput) as exc:
        check_url("https://sneaky.example/index.yaml", Policy(), "repository")
    assert exc.value.field == "repository" and "sneaky.example" in exc.value.message
    check_url("https://nowhere.example/x.tgz", Policy(), "url")  # unresolvable: the connection fails on its own
    assert resolve("charts.example", 443, Policy(), "url") == ["10.0.0.8"]  # what fetch connects to
    with pytest.raises(socket.gaierror):
        resolve("nowhere.example", 443, Policy(), "url")


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("fe80::1%eth0", "a link-local or metadata address"),  # a scoped address, as getaddrinfo reports it
        ("::ffff:169.254.169.254", "a link-local or metadata address"),
        ("127.0.0.1", "a loopback address (reachable from the local stages only)"),
        ("::1", "a loopback address (reachable from the local stages only)"),
        ("10.0.0.1", None),
    ],
)
def test_each_refusal_says_why(address: str, why: str | None) -> None:
    assert Policy().refusal(address) == why
    assert Policy(loopback=True).refusal(address) == (None if why and "loopback" in why else why)
