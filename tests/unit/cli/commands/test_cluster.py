"""``charthouse cluster add`` reads the kubeconfig from stdin and never prints it."""

from __future__ import annotations

from tests.unit.cli.fakeapi import FakeApi, run


def test_cluster_add_reads_the_kubeconfig_from_stdin_and_never_prints_it(fake: FakeApi) -> None:
    secret = "apiVersion: v1\nusers: [{name: u, user: {token: s3cr3t-token}}]\n"
    fake.on(
        "PUT",
        "/v1/clusters/prod",
        (201, {"name": "prod", "auth": "kubeconfig", "server": "https://k:6443", "created_at": "x", "updated_at": "x"}),
    )
    code, out, err = run(fake, "cluster", "add", "prod", "--kubeconfig", "-", "--context", "admin", stdin=secret)
    assert code == 0, err
    assert fake.requests[0]["body"] == {"kubeconfig": secret, "context": "admin"}
    assert "s3cr3t" not in out + err and "registered" in err
