"""The charthouse CLI without a service: argument parsing, values files, tables, auth, and exit codes
against a small fake HTTP server on loopback."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from charthouse_cli import auth, output, values, waiting
from charthouse_cli.commands import chart as chart_cmd
from charthouse_cli.errors import ApiError, UsageError
from charthouse_cli.main import build_parser, main

OP = {
    "id": "op-1",
    "action": "install",
    "status": "queued",
    "created_at": "2026-11-21T10:00:00+00:00",
    "updated_at": "2026-11-21T10:00:00+00:00",
    "release": {"cluster": "local", "namespace": "default", "name": "web"},
}


# ---------------------------------------------------------------- a fake API on loopback


class FakeApi:
    """Answers from a script: ``routes[(METHOD, path)]`` is a list of (status, body, headers), used in turn
    (the last one repeats). Every request is recorded with its headers and decoded body."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[tuple[int, Any, dict[str, str]]]] = {}
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                route, _, query = self.path.partition("?")
                body: Any = raw
                if self.headers.get("Content-Type") == "application/json" and raw:
                    body = json.loads(raw)
                fake.requests.append(
                    {
                        "method": self.command,
                        "path": route,
                        "query": query,
                        "headers": dict(self.headers.items()),
                        "body": body,
                    }
                )
                answers = fake.routes.get((self.command, route)) or [
                    (404, {"error": {"code": "NotFound", "message": f"no route {route}", "details": {}}}, {})
                ]
                status, data, headers = answers.pop(0) if len(answers) > 1 else answers[0]
                payload = b"" if data is None else json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def on(self, method: str, path: str, *answers: tuple[int, Any] | tuple[int, Any, dict[str, str]]) -> None:
        self.routes[(method, path)] = [(a[0], a[1], a[2] if len(a) > 2 else {}) for a in answers]  # type: ignore[misc]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeApi]:
    for var in ("CHARTHOUSE_ENDPOINT", "CHARTHOUSE_TOKEN", "CHARTHOUSE_CLUSTER", "CHARTHOUSE_NAMESPACE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no .local/token from the work tree
    api = FakeApi()
    yield api
    api.close()


def run(api: FakeApi | None, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    endpoint = ["--endpoint", api.url] if api else []
    code = main([*argv, *endpoint], stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def op(status: str, **more: Any) -> dict[str, Any]:
    return {**OP, "status": status, **more}


# ---------------------------------------------------------------- parsing


def test_global_options_go_before_or_after_the_command() -> None:
    parser = build_parser()
    a = parser.parse_args(["-o", "json", "--endpoint", "http://x:1", "release", "list"])
    b = parser.parse_args(["release", "list", "-o", "json", "--endpoint", "http://x:1"])
    assert (a.output, a.endpoint) == (b.output, b.endpoint) == ("json", "http://x:1")
    assert parser.parse_args(["release", "list"]).output == "table"


def test_release_create_options_are_parsed_in_order() -> None:
    args = build_parser().parse_args(
        [
            "release",
            "create",
            "web",
            "repo/web",
            "-n",
            "shop",
            "-c",
            "prod",
            "-f",
            "a.yaml",
            "--values",
            "b.yaml",
            "--set",
            "x=1",
            "--set",
            "y=2",
            "--set-string",
            "z=007",
            "--set-json",
            'j={"a":1}',
            "--label",
            "team=x",
            "--timeout",
            "5m",
            "--dry-run",
        ]
    )
    assert args.positional == ["web", "repo/web"]
    assert (args.cluster, args.namespace) == ("prod", "shop")
    assert args.values_files == ["a.yaml", "b.yaml"]
    assert args.set_values == ["x=1", "y=2"] and args.set_string == ["z=007"] and args.set_json == ['j={"a":1}']
    assert args.label == [("team", "x")] and args.timeout == "5m" and args.dry_run is True
    assert args.no_wait is False and args.wait_timeout == 900


def test_aliases_and_defaults_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARTHOUSE_CLUSTER", "prod")
    monkeypatch.setenv("CHARTHOUSE_NAMESPACE", "shop")
    args = build_parser().parse_args(["rel", "uninstall", "web", "--keep-history"])
    assert (args.cluster, args.namespace, args.name, args.keep_history) == ("prod", "shop", "web", True)


@pytest.mark.parametrize(
    "argv",
    [
        ["release", "create", "only-one"],  # NAME CHART needed
        ["release", "create", "a", "b", "c"],
        ["release", "show"],  # NAME missing
        ["release", "list", "--status", "bogus"],
        ["release", "rollback", "web", "zero"],
        ["release", "frobnicate"],
        ["-o", "xml", "cluster", "list"],
        ["release"],  # a group without a command
        ["cluster", "add", "x"],  # no credentials
        ["cluster", "add", "x", "--kubeconfig", "k", "--server", "https://s"],
    ],
)
def test_usage_errors_exit_2(fake: FakeApi, argv: list[str]) -> None:
    code, out, err = run(fake, *argv)
    assert code == 2, (out, err)
    assert fake.requests == []


def test_help_on_every_command_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    commands = [
        ["release", c] for c in ("create", "list", "show", "upgrade", "history", "rollback", "delete", "unlock")
    ]
    commands += [["cluster", c] for c in ("add", "list", "show", "delete")]
    commands += [["repo", c] for c in ("add", "list", "refresh", "delete")]
    commands += [["chart", c] for c in ("search", "show", "upload")]
    commands += [["operation", c] for c in ("show", "list", "wait")] + [["completion"]]
    for argv in [*commands, []]:
        assert main([*argv, "--help"]) == 0
        text = capsys.readouterr().out
        assert "examples:" in text and "charthouse" in text, argv
    assert main(["--help"]) == 0
    assert "exit codes:" in capsys.readouterr().out


# ---------------------------------------------------------------- values


def test_values_files_are_sent_as_text_in_order(tmp_path: Path) -> None:
    # the CLI does not parse them: the service merges them like helm (tests/unit/domain/values/test_merge.py)
    (tmp_path / "a.yaml").write_text("image: {repo: web, tag: v1}\non: !!binary x\n")
    (tmp_path / "b.yaml").write_text("image: {tag: v2}\n")
    sent = values.read_files([str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")])
    assert sent == [
        {"name": str(tmp_path / "a.yaml"), "content": "image: {repo: web, tag: v1}\non: !!binary x\n"},
        {"name": str(tmp_path / "b.yaml"), "content": "image: {tag: v2}\n"},
    ]
    with pytest.raises(UsageError, match="standard input can be read only once"):
        values.read_files(["-", "-"], stdin=io.StringIO(""))


def test_request_fields_keep_set_order_and_only_what_was_given(tmp_path: Path) -> None:
    (tmp_path / "v.yaml").write_text("a: 1\n")
    assert values.request_fields(None, None, None, None) == {}
    fields = values.request_fields(
        [str(tmp_path / "v.yaml"), "-"], ["b=2", "a=3"], None, ['j={"x":1}'], stdin=io.StringIO("c: 4\n")
    )
    assert fields == {
        "values_files": [
            {"name": str(tmp_path / "v.yaml"), "content": "a: 1\n"},
            {"name": "<stdin>", "content": "c: 4\n"},
        ],
        "set": ["b=2", "a=3"],
        "set_json": ['j={"x":1}'],
    }
    with pytest.raises(UsageError, match="cannot read values file"):
        values.read_files([str(tmp_path / "missing.yaml")])


# ---------------------------------------------------------------- tables


def test_table_aligns_columns_without_trailing_spaces() -> None:
    text = output.table(("NAME", "REVISION", "OK"), [("web", 12, True), ("a-long-name", None, False)])
    assert text.splitlines() == [
        "NAME         REVISION  OK",
        "web          12        true",
        "a-long-name            false",
    ]
    assert output.table(("A",), []) == "A\n"
    assert output.cell({"b": 1, "a": [1]}) == '{"a":[1],"b":1}'
    assert output.cell("two\nlines") == "two lines"


def test_fields_and_times() -> None:
    assert output.fields([("NAME", "web"), ("EMPTY", ""), ("NONE", None), ("REVISION", 3)]) == (
        "NAME:      web\nREVISION:  3\n"
    )
    assert output.short_time("2026-11-21T10:40:03.123+00:00") == "2026-11-21 10:40:03"
    assert output.short_time(None) == ""


# ---------------------------------------------------------------- commands against the fake API


def test_create_sends_the_values_files_in_order_and_waits(fake: FakeApi, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("image: {repo: web, tag: v1}\n")
    (tmp_path / "b.yaml").write_text("image: {tag: v2}\n")
    fake.on(
        "POST", "/v1/clusters/local/namespaces/shop/releases", (202, op("queued"), {"Location": "/v1/operations/op-1"})
    )
    fake.on("GET", "/v1/operations/op-1", (200, op("running")), (200, op("succeeded", result={"revision": 1})))
    code, out, err = run(
        fake,
        "release",
        "create",
        "web",
        "repo/web",
        "-n",
        "shop",
        "-f",
        "a.yaml",
        "-f",
        "b.yaml",
        "--set",
        "x=1",
        "--set",
        "y=2",
        "--set-string",
        "z=007",
        "--create-namespace",
    )
    assert code == 0, err
    sent = fake.requests[0]
    assert sent["body"] == {
        "name": "web",
        "chart": "repo/web",
        "values_files": [
            {"name": "a.yaml", "content": "image: {repo: web, tag: v1}\n"},
            {"name": "b.yaml", "content": "image: {tag: v2}\n"},
        ],
        "set": ["x=1", "y=2"],
        "set_string": ["z=007"],
        "create_namespace": True,
    }
    assert len(sent["headers"]["Idempotency-Key"]) == 36
    assert [r["path"] for r in fake.requests[1:]] == ["/v1/operations/op-1"] * 2
    assert "succeeded" in out and "op-1" in out and "REVISION:" in out
    assert "running" in err  # progress on stderr (plain lines: not a terminal)


def test_no_wait_returns_the_accepted_operation_as_json(fake: FakeApi) -> None:
    fake.on("PUT", "/v1/clusters/local/namespaces/default/releases/web", (202, op("queued", action="upgrade")))
    code, out, err = run(fake, "release", "upgrade", "web", "repo/web", "--no-wait", "-o", "json", "--reuse-values")
    assert code == 0, err
    assert json.loads(out)["status"] == "queued"
    assert fake.requests[0]["body"] == {"chart": "repo/web", "reuse_values": True}
    assert len(fake.requests) == 1 and err == ""


def test_failed_operation_exits_1_with_the_reason(fake: FakeApi) -> None:
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases/web/rollback", (202, op("queued")))
    failed = op("failed", error={"code": "HelmError", "message": "release web has no revision 9", "details": {}})
    fake.on("GET", "/v1/operations/op-1", (200, failed))
    code, out, err = run(fake, "release", "rollback", "web", "9", "-o", "yaml")
    assert code == 1
    assert yaml.safe_load(out)["error"]["code"] == "HelmError"
    assert "HelmError: release web has no revision 9" in err
    assert fake.requests[0]["body"] == {"revision": 9}


@pytest.mark.parametrize(
    "status,code,exit_code",
    [
        (404, "ReleaseNotFound", 4),
        (409, "ReleaseLocked", 3),
        (422, "InvalidInput", 2),
        (400, "InvalidInput", 2),
        (502, "ClusterUnreachable", 1),
        (500, "InternalError", 1),
        (403, "Forbidden", 1),
    ],
)
def test_api_errors_map_to_exit_codes(fake: FakeApi, status: int, code: str, exit_code: int) -> None:
    body = {"error": {"code": code, "message": "it went wrong", "details": {"operation_id": "op-9"}}}
    fake.on("DELETE", "/v1/clusters/local/namespaces/default/releases/web", (status, body))
    rc, out, err = run(fake, "release", "delete", "web")
    assert rc == exit_code
    assert out == ""
    assert f"{code} ({status}): it went wrong" in err and "op-9" in err


def test_cannot_connect_exits_5(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out, err = io.StringIO(), io.StringIO()
    assert main(["--endpoint", f"http://127.0.0.1:{port}", "cluster", "list"], stdout=out, stderr=err) == 5
    assert "cannot connect" in err.getvalue()


def test_503_is_retried_with_the_same_idempotency_key(fake: FakeApi) -> None:
    busy = {"error": {"code": "DependencyUnavailable", "message": "busy", "details": {}}}
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases", (503, busy), (202, op("queued")))
    code, _, err = run(fake, "release", "create", "web", "repo/web", "--no-wait")
    assert code == 0, err
    keys = [r["headers"]["Idempotency-Key"] for r in fake.requests]
    assert len(keys) == 2 and keys[0] == keys[1]
    # another invocation, another key
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases", (202, op("queued")))
    run(fake, "release", "create", "web", "repo/web", "--no-wait")
    assert fake.requests[-1]["headers"]["Idempotency-Key"] != keys[0]


def test_list_show_history_tables_and_queries(fake: FakeApi) -> None:
    rel = {
        "cluster": "local",
        "namespace": "shop",
        "name": "web",
        "status": "deployed",
        "revision": 2,
        "chart": "demo",
        "chart_version": "0.2.0",
        "app_version": "1.0",
        "last_deployed": "2026-11-21T10:00:00+00:00",
    }
    fake.on("GET", "/v1/releases", (200, {"releases": [rel], "next_token": "tok"}))
    code, out, err = run(fake, "release", "list", "-A", "--status", "deployed,failed", "--limit", "5")
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == [
        "NAME",
        "NAMESPACE",
        "CLUSTER",
        "REVISION",
        "STATUS",
        "CHART",
        "APP",
        "VERSION",
        "UPDATED",
    ]
    assert row.split() == ["web", "shop", "local", "2", "deployed", "demo-0.2.0", "1.0", "2026-11-21", "10:00:00"]
    assert header.index("STATUS") == row.index("deployed")
    assert "--next-token tok" in err
    assert fake.requests[-1]["query"] == "status=deployed%2Cfailed&limit=5"

    fake.on("GET", "/v1/clusters/local/namespaces/shop/releases/web", (200, {**rel, "values": {"a": 1}}))
    code, out, _ = run(fake, "release", "show", "web", "-n", "shop", "--info", "values", "--info", "resources")
    assert code == 0 and "STATUS:" in out and "USER-SUPPLIED VALUES:\na: 1" in out
    assert fake.requests[-1]["query"] == "info=values%2Cresources"

    hist = {
        "release": {},
        "history": [
            {
                "revision": 2,
                "status": "deployed",
                "chart": "demo-0.2.0",
                "app_version": "1",
                "updated": "2026-11-21T10:00:00Z",
                "description": "Upgrade complete",
            }
        ],
    }
    fake.on("GET", "/v1/clusters/local/namespaces/default/releases/web/history", (200, hist))
    code, out, _ = run(fake, "release", "history", "web", "--max", "3")
    assert code == 0 and out.splitlines()[1].split()[:3] == ["2", "2026-11-21", "10:00:00"]
    assert fake.requests[-1]["query"] == "max=3"


def test_names_cannot_escape_their_path_segment(fake: FakeApi) -> None:
    run(fake, "release", "show", "../../clusters")
    assert fake.requests[-1]["path"] == "/v1/clusters/local/namespaces/default/releases/..%2F..%2Fclusters"


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


def test_bearer_token_is_sent_and_never_printed(fake: FakeApi, tmp_path: Path) -> None:
    fake.on("GET", "/v1/clusters", (500, {"error": {"code": "InternalError", "message": "boom", "details": {}}}))
    code, out, err = run(fake, "cluster", "list", "--token", "tok-123")
    assert code == 1 and "tok-123" not in out + err
    assert fake.requests[-1]["headers"]["Authorization"] == "Bearer tok-123"
    # the local stack's token file, for a loopback endpoint only
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "token").write_text("local-tok\n")
    run(fake, "cluster", "list")
    assert fake.requests[-1]["headers"]["Authorization"] == "Bearer local-tok"
    assert isinstance(auth.resolve("https://api.example.com", auth.AuthOptions(), {}, tmp_path), auth.NoAuth)


def test_sigv4_is_automatic_for_execute_api_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com"
    signer = auth.resolve(url, auth.AuthOptions(), {})
    assert isinstance(signer, auth.SigV4Auth) and signer.region == "eu-west-1"
    headers = signer.headers("GET", url + "/api/v1/releases", {"Accept": "application/json"}, None)
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers
    with pytest.raises(UsageError):
        auth.resolve(url, auth.AuthOptions(token="t", sigv4=True), {})
    explicit = auth.resolve("https://api.example.com", auth.AuthOptions(sigv4=True, region="us-east-2"), {})
    assert isinstance(explicit, auth.SigV4Auth) and explicit.region == "us-east-2"


def test_operation_wait_and_list(fake: FakeApi) -> None:
    fake.on("GET", "/v1/operations/op-1", (200, op("running")), (200, op("succeeded")))
    code, out, err = run(fake, "operation", "wait", "op-1", "-o", "json")
    assert code == 0 and json.loads(out)["status"] == "succeeded"
    fake.on(
        "GET", "/v1/operations", (200, {"operations": [op("failed", error={"code": "WorkerLost"})], "next_token": None})
    )
    code, out, _ = run(fake, "operation", "list", "--release", "web", "--status", "failed")
    assert code == 0 and out.splitlines()[1].split()[:4] == ["op-1", "install", "failed", "local/default/web"]
    assert "WorkerLost" in out
    assert fake.requests[-1]["query"] == "release=web&status=failed"


def test_wait_gives_up_after_its_timeout() -> None:
    class Client:
        def get(self, path: str) -> dict[str, Any]:
            return op("running")

    clock = iter(range(100))
    with pytest.raises(Exception, match="operation wait op-1"):
        waiting.wait(Client(), op("queued"), 5, None, clock=lambda: float(next(clock)), sleep=lambda s: None)  # type: ignore[arg-type]


def test_progress_spins_on_a_terminal_and_prints_changes_elsewhere() -> None:
    tty = io.StringIO()
    p = waiting.Progress(tty, tty=True)
    p.update(op("queued"), 0.0)
    p.update(op("running", phase="helm upgrade"), 3.2)
    p.finish()
    assert "\r" in tty.getvalue() and "running (helm upgrade)  3s" in tty.getvalue()
    plain = io.StringIO()
    p = waiting.Progress(plain, tty=False)
    for status in ("queued", "queued", "running", "succeeded"):
        p.update(op(status), 1.0)
    assert [line.split(": ")[1].split(" (")[0] for line in plain.getvalue().splitlines()] == [
        "queued",
        "running",
        "succeeded",
    ]


def test_the_spinner_keeps_moving_between_polls() -> None:
    class Client:
        def __init__(self) -> None:
            self.polls = 0

        def get(self, path: str) -> dict[str, Any]:
            self.polls += 1
            return op("succeeded" if self.polls == 2 else "running")

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    tty = io.StringIO()
    client = Client()
    done = waiting.wait(
        client,
        op("queued"),
        60,
        waiting.Progress(tty, tty=True),
        clock=lambda: now[0],  # type: ignore[arg-type]
        sleep=sleep,
    )
    assert done["status"] == "succeeded" and client.polls == 2
    frames = tty.getvalue().split("\r")
    assert len(frames) > 5  # redrawn every tick (0.1 s), not only at each poll
    assert frames[-1] == ""  # the line is cleared at the end


def test_dry_run_prints_the_manifest(fake: FakeApi) -> None:
    fake.on(
        "POST",
        "/v1/clusters/local/namespaces/default/releases",
        (200, {"dry_run": "client", "release": {}, "manifest": "kind: ConfigMap\n", "notes": "hi\n"}),
    )
    code, out, _ = run(fake, "release", "create", "web", "repo/web", "--dry-run")
    assert code == 0 and out == "kind: ConfigMap\n\nNOTES:\nhi\n"
    assert fake.requests[0]["body"]["dry_run"] is True


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


def test_chart_upload_direct_and_presigned(fake: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tgz = tmp_path / "web-1.0.0.tgz"
    tgz.write_bytes(b"\x1f\x8b" + b"x" * 100)
    uploaded = {"repository": "uploaded", "name": "web", "version": "1.0.0"}
    fake.on("POST", "/v1/charts", (201, uploaded))
    code, out, err = run(fake, "chart", "upload", str(tgz))
    assert code == 0, err
    assert fake.requests[-1]["headers"]["Content-Type"] == "application/gzip"
    assert fake.requests[-1]["body"] == tgz.read_bytes()
    assert "uploaded/web" in err

    monkeypatch.setattr(chart_cmd, "DIRECT_UPLOAD_MAX_BYTES", 10)
    presigned = f"{fake.url}/blob/secret-signature"
    fake.on(
        "POST",
        "/v1/charts/uploads",
        (
            200,
            {
                "upload_id": "up-1",
                "url": presigned,
                "method": "PUT",
                "headers": {"Content-Type": "application/gzip"},
                "max_bytes": 1000,
            },
        ),
    )
    fake.on("PUT", "/blob/secret-signature", (200, None))
    code, out, err = run(fake, "chart", "upload", str(tgz))
    assert code == 0, err
    assert [(r["method"], r["path"]) for r in fake.requests[-3:]] == [
        ("POST", "/v1/charts/uploads"),
        ("PUT", "/blob/secret-signature"),
        ("POST", "/v1/charts"),
    ]
    assert "Authorization" not in fake.requests[-2]["headers"]
    assert fake.requests[-1]["body"] == {"upload_id": "up-1"}
    assert "secret-signature" not in out + err

    (tmp_path / "plain.txt").write_text("not a chart")
    assert run(fake, "chart", "upload", str(tmp_path / "plain.txt"))[0] == 2


def test_completion_scripts_know_every_command() -> None:
    out = io.StringIO()
    assert main(["completion", "bash"], stdout=out) == 0
    script = out.getvalue()
    assert "complete -o default -F _charthouse charthouse" in script
    assert '"release create") opts="' in script and "--set-string" in script and "--no-wait" in script
    for noun in ("release", "cluster", "repo", "chart", "operation", "completion"):
        assert noun in script
    out = io.StringIO()
    assert main(["completion", "zsh"], stdout=out) == 0
    assert out.getvalue().startswith("#compdef charthouse") and "bashcompinit" in out.getvalue()


def test_api_error_text() -> None:
    err = ApiError(422, "InvalidInput", "must be a mapping", {"field": "values"})
    assert str(err) == "InvalidInput (422): must be a mapping [field: values]" and err.exit_code == 2
