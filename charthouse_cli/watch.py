"""``--watch``: show something, then show it again as it changes, until Ctrl-C (which ends it with exit 0).

On a terminal the screen is redrawn in place at every poll (a header with the command, the interval and the
time, then the table), statuses coloured unless ``NO_COLOR`` is set (or ``TERM=dumb``). Anywhere else (a pipe, a
log, ``-o json``) nothing is redrawn: a new block (or JSON/YAML document) is appended only when the content
changed, so ``charthouse operation list --watch > log`` reads as a history. Polling is polite: every
``--interval`` seconds (at least 1), backing off to 30 s while the endpoint fails, and one request per poll.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import output
from .errors import ApiError, CliError
from .session import Context

MIN_INTERVAL_S = 1.0
MAX_BACKOFF_S = 30.0
CLEAR_HOME = "\x1b[H"
CLEAR_LINE_END = "\x1b[K"
CLEAR_BELOW = "\x1b[J"
COLOURS = {
    "deployed": "32",
    "succeeded": "32",
    "failed": "31",
    "unknown": "31",
    "pending-install": "33",
    "pending-upgrade": "33",
    "pending-rollback": "33",
    "uninstalling": "33",
    "queued": "33",
    "running": "33",
    "superseded": "2",
    "uninstalled": "2",
}
STATUS_WORD = re.compile(
    r"(?<![\w-])(" + "|".join(sorted(map(re.escape, COLOURS), key=len, reverse=True)) + r")(?![\w-])"
)


def colour_allowed(stream: Any, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(getattr(stream, "isatty", lambda: False)()) and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def colourise(text: str) -> str:
    return STATUS_WORD.sub(lambda m: f"\x1b[{COLOURS[m.group(1)]}m{m.group(1)}\x1b[0m", text)


def watch(
    ctx: Context,
    fetch: Callable[[], Any],
    human: Callable[[Any], str],
    title: str,
    interval: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    env: Mapping[str, str] | None = None,
) -> int:
    """Poll ``fetch`` and show it until interrupted. The first error is the command's (exit code as usual);
    later ones are shown and retried."""
    out = ctx.stdout
    tty = bool(getattr(out, "isatty", lambda: False)())
    colour = colour_allowed(out, env)
    interval = max(MIN_INTERVAL_S, interval)
    data = fetch()  # an error here (404, no connection) ends the command as without --watch
    last = None
    wait = interval
    problem = ""
    try:
        while True:
            text = output.dump(data, ctx.output) if ctx.output in ("json", "yaml") else human(data)
            stamp = time.strftime("%H:%M:%S", time.localtime(clock()))
            if tty and ctx.output == "table":
                body = colourise(text) if colour else text
                header = f"Every {interval:g}s: {title}    {stamp}" + (f"    ({problem})" if problem else "")
                lines = [header, "", *body.rstrip("\n").split("\n")]
                out.write(CLEAR_HOME + "".join(line + CLEAR_LINE_END + "\n" for line in lines) + CLEAR_BELOW)
                out.flush()
            elif text != last:
                out.write(f"--- {stamp}\n{text}" if ctx.output == "table" else text)
                out.flush()
            last = text
            sleep(wait)
            try:
                data = fetch()
                wait, problem = interval, ""
            except ApiError as exc:
                if exc.status < 500 and exc.status not in (404, 429):
                    raise  # refused (auth, a bad request): trying again will not help
                problem, wait = str(exc), min(MAX_BACKOFF_S, wait * 2)
            except CliError as exc:  # no connection: keep trying, slower
                problem, wait = str(exc), min(MAX_BACKOFF_S, wait * 2)
            if problem and not tty:
                ctx.note(f"watch: {problem}; retrying in {wait:g}s")
    except KeyboardInterrupt:
        if tty:
            out.write("\n")
            out.flush()
        return 0
