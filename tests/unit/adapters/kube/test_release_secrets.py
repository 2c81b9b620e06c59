"""helm's release Secrets: encoding and decoding round-trip, and the Secret's name."""

from __future__ import annotations


def test_release_secret_round_trip() -> None:
    from chalicelib.adapters.kube import release_secrets

    release = {"name": "web", "version": 3, "info": {"status": "pending-upgrade"}}
    assert release_secrets.decode(release_secrets.encode(release)) == release
    assert release_secrets.secret_name("web", 3) == "sh.helm.release.v1.web.v3"
