"""``--watch``: redrawn in place on a terminal (coloured unless NO_COLOR), appended only on change elsewhere; Ctrl-C
ends it with 0; a failing endpoint is retried with a growing pause."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from charthouse_cli import watch
from charthouse_cli.errors import ConnectError
from charthouse_cli.http import ApiClient
from charthouse_cli.session import Context
from tests.unit.cli.fakeapi import FakeApi, run


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def script(*answers: Any) -> Callable[[], Any]:
    queue = list(answers)

    def fetch() -> Any:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return fetch


def stop_after(n: int, pauses: list[float]) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) >= n:
            raise KeyboardInterrupt

    return sleep


def human(d: dict[str, Any]) -> str:
    return f"STATUS: {d['status']}\n"


def ctx(out: io.StringIO, fmt: str = "table") -> Context:
    return Context(client=ApiClient("http://127.0.0.1:1"), output=fmt, stdout=out, stderr=io.StringIO())


def test_not_a_terminal_appends_only_changes() -> None:
    out, pauses = io.StringIO(), []
    fetch = script({"status": "pending-install"}, {"status": "pending-install"}, {"status": "deployed"})
    assert watch.watch(ctx(out), fetch, human, "t", 2, sleep=stop_after(4, pauses)) == 0
    text = out.getvalue()
    assert text.count("STATUS:") == 2 and "pending-install" in text and "deployed" in text
    assert "\x1b" not in text and pauses == [2, 2, 2, 2]


def test_json_documents_one_per_change() -> None:
    out, pauses = io.StringIO(), []
    fetch = script({"status": "queued"}, {"status": "succeeded"})
    watch.watch(ctx(out, "json"), fetch, human, "t", 1, sleep=stop_after(3, pauses))
    assert out.getvalue().count('"status"') == 2 and "---" not in out.getvalue()


def test_a_terminal_is_redrawn_in_place_with_colour_unless_no_color() -> None:
    out, pauses = Tty(), []
    watch.watch(
        ctx(out),
        script({"status": "failed"}),
        human,
        "charthouse release get web",
        2,
        sleep=stop_after(2, pauses),
        env={},
    )
    text = out.getvalue()
    assert text.count(watch.CLEAR_HOME) == 2 and "Every 2s: charthouse release get web" in text
    assert "\x1b[31mfailed\x1b[0m" in text
    out = Tty()
    watch.watch(ctx(out), script({"status": "failed"}), human, "t", 2, sleep=stop_after(1, []), env={"NO_COLOR": "1"})
    assert "\x1b[31m" not in out.getvalue()


def test_failures_are_retried_ever_slower_then_recover() -> None:
    out, pauses = io.StringIO(), []
    down = ConnectError("cannot connect")
    fetch = script({"status": "deployed"}, down, down, down, {"status": "failed"})
    c = ctx(out)
    watch.watch(c, fetch, human, "t", 2, sleep=stop_after(5, pauses))
    assert pauses == [2, 4, 8, 16, 2]
    assert "cannot connect" in c.stderr.getvalue() and "failed" in out.getvalue()


def test_the_first_error_is_the_commands(fake: FakeApi) -> None:
    code, _, err = run(fake, "release", "get", "nobody", "--watch")
    assert code == 4


@pytest.mark.parametrize(
    "argv", [["release", "get", "web", "--watch", "--interval", "0"], ["operation", "list", "-w", "--interval", "x"]]
)
def test_interval_must_be_positive(fake: FakeApi, argv: list[str]) -> None:
    assert run(fake, *argv)[0] == 2
