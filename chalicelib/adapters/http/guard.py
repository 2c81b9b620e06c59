"""The SSRF guard: repository, registry and chart URLs may not reach link-local, cloud metadata or (outside the
local stages) loopback addresses.

Every address a host name resolves to is checked (and every redirect target, in ``fetch``), so a name that
points at 169.254.169.254 is refused as surely as the literal. :func:`resolve` answers the checked addresses, and
``fetch`` connects to one of those, never resolving the name again (no DNS rebinding between check and connect).

What is refused is a :class:`Policy`, built once per container from the stage (:meth:`Policy.for_stage`):
loopback (127.0.0.0/8, ::1) is the Lambda Runtime and extensions APIs in a deployed stage, so only the ``local``
and ``test`` stages, whose chart servers run on 127.0.0.1, may reach it. Networks listed in
``CHARTHOUSE_ALLOWED_NETWORKS`` are allowed even when they fall in a blocked range. Private networks are never
blocked: charts are often served from inside a VPC.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.errors import InvalidInput

BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",  # IPv4 link-local, instance metadata (169.254.169.254, 169.254.170.2 for ECS)
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # EC2 metadata over IPv6
        "100.100.100.200/32",  # another cloud's metadata address
        "0.0.0.0/8",
        "::/128",  # "this host": reaches local services on some systems
        "224.0.0.0/4",
        "ff00::/8",
        "240.0.0.0/4",  # multicast, reserved
    )
)
LOOPBACK = tuple(ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128"))
LOOPBACK_STAGES = frozenset({"local", "test"})  # the stages whose chart servers run on loopback
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(raw: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in raw)


@dataclass(frozen=True)
class Policy:
    """What outbound URLs may reach: never :data:`BLOCKED`, loopback only when ``loopback``, and ``allowed``
    networks whatever the rest says. The default refuses loopback (a deployed stage)."""

    allowed: tuple[Network, ...] = ()
    loopback: bool = False

    @classmethod
    def for_stage(cls, stage: str, allowed_networks: tuple[str, ...] = ()) -> Policy:
        return cls(networks(allowed_networks), stage in LOOPBACK_STAGES)

    def refusal(self, address: str) -> str | None:
        """Why ``address`` is refused (``None``: it is not)."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.allowed if net.version == ip.version):
            return None
        if any(ip in net for net in BLOCKED if net.version == ip.version):
            return "a link-local or metadata address"
        if not self.loopback and any(ip in net for net in LOOPBACK if net.version == ip.version):
            return "a loopback address (reachable from the local stages only)"
        return None


DEPLOYED = Policy()  # what a deployed stage refuses: the default wherever no policy is given


def resolve(host: str, port: int | None, policy: Policy, field: str) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order, once every one of them passed ``policy``
    (``InvalidInput`` on ``field`` otherwise). A name that does not resolve raises :class:`socket.gaierror`."""
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (UnicodeError, ValueError) as exc:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} is not a valid host name") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        why = policy.refusal(address)
        if why is not None:
            raise InvalidInput(
                field, f"{host} is {why}; such URLs are refused (CHARTHOUSE_ALLOWED_NETWORKS lifts this for a network)"
            )
    return addresses


def check_host(host: str, port: int | None, policy: Policy, field: str) -> None:
    """Refuse ``host`` when it is, or resolves to, an address ``policy`` refuses. Names that do not resolve pass:
    the connection fails on its own, with its own error."""
    try:
        resolve(host, port, policy, field)
    except socket.gaierror:
        return


def check_url(url: str, policy: Policy, field: str) -> None:
    parts = urlsplit(url.replace("oci://", "https://", 1))
    if parts.hostname:
        check_host(parts.hostname, parts.port, policy, field)
