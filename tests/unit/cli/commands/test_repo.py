"""``charthouse repo add`` reads the password from stdin and never prints it."""

from __future__ import annotations

from tests.unit.cli.fakeapi import FakeApi, run


def test_repo_add_reads_the_password_from_stdin(fake: FakeApi) -> None:
    fake.on(
        "PUT",
        "/v1/repositories/private",
        (
            201,
            {
                "name": "private",
                "url": "https://c.example",
                "type": "http",
                "auth": {"basic": True, "token": False},
                "index": None,
            },
        ),
    )
    code, out, err = run(
        fake, "repo", "add", "private", "https://c.example", "--username", "ci", "--password-stdin", stdin="pa55word\n"
    )
    assert code == 0, err
    assert fake.requests[0]["body"] == {"url": "https://c.example", "username": "ci", "password": "pa55word"}
    assert "pa55word" not in out + err and "AUTH:" in out and "basic" in out
