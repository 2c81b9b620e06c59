"""The SSRF guard: repository, registry and chart URLs may not reach link-local or cloud metadata addresses.

Every address a host name resolves to is checked (and every redirect target, in ``fetch``), so a name that
points at 169.254.169.254 is refused as surely as the literal. Networks listed in ``CHARTHOUSE_ALLOWED_NETWORKS``
are allowed even when they fall in a blocked range. Loopback and private networks are not blocked: charts are
often served from inside a VPC (and the local stack serves them on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
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
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _blocked(address: str, allowed: tuple[Network, ...]) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed if net.version == ip.version):
        return False
    return any(ip in net for net in BLOCKED if net.version == ip.version)


def networks(raw: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in raw)


def check_host(host: str, port: int | None, allowed: tuple[Network, ...], field: str) -> None:
    """Refuse ``host`` when it is, or resolves to, a blocked address. Names that do not resolve pass: the
    connection fails on its own, with its own error."""
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        return
    for info in infos:
        if _blocked(str(info[4][0]), allowed):
            raise InvalidInput(
                field,
                f"{host} is a link-local or metadata address; such URLs are refused "
                "(CHARTHOUSE_ALLOWED_NETWORKS lifts this for a network)",
            )


def check_url(url: str, allowed: tuple[Network, ...], field: str) -> None:
    parts = urlsplit(url.replace("oci://", "https://", 1))
    if parts.hostname:
        check_host(parts.hostname, parts.port, allowed, field)
