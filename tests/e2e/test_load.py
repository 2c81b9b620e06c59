"""Load on the real local stack (helm 4): concurrent installs/upgrades on distinct releases, contended mutating
calls on one shared release, and readers, from several threads.

Afterwards every accepted operation has ended, none ran twice (one helm revision per succeeded install, upgrade or
rollback; a release's operations never ran at the same time) and DynamoDB agrees with ``helm list -A`` (helm 4
lists every status, as helm 3's ``--all``) and ``helm history`` for every release. helm keeps at most
``max_history`` (10) revisions, so "one revision each" is checked against helm's latest revision number, which
counts every revision ever made. Run with ``-s`` to see the one-line summary of the figures.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from devstack.stack import Stack, StackConfig
from tests.e2e.conftest import HELMS, TERMINAL, helm_cli
from tests.e2e.openapi_check import ResponseChecker

pytestmark = pytest.mark.e2e

NS = "load"
RELEASES = f"/v1/clusters/local/namespaces/{NS}/releases"
DISTINCT = 12  # releases, each: install then UPGRADES upgrades, one after the other
UPGRADES = 2
SHARED = "shared"
SHARED_THREADS = 4
SHARED_CALLS = 4  # per shared thread: 16 contended calls in all
SHARED_ROLLBACKS = (4, 3)  # roll back to the previous revision: 4 is the first call made (seeded pauses), 3 the last
SHARED_TWIN = 7  # this shared call is sent twice at once with the same Idempotency-Key
READERS = 2
THREADS = 8  # 2 readers + 4 shared callers at first, then the distinct releases
OP_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 30.0
REVISION_ACTIONS = ("install", "upgrade", "rollback")
Response = tuple[int, Any]


@pytest.fixture(scope="module")
def load_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = HELMS["helm4"]
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run layers/helm/build.sh (make test does)")
    cfg = StackConfig.isolated(tmp_path_factory.mktemp("stack-load"), binary, workers=2)
    with Stack(cfg) as running:
        yield running  # the state dir (logs/*.log) is left for pytest's tmp retention, to read after a failure


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def _code(data: Any) -> str | None:
    return data.get("error", {}).get("code") if isinstance(data, dict) else None


class Load:
    """The HTTP client and the shared tallies of one load run (thread-safe)."""

    def __init__(self, base: str, chart: str, token: str) -> None:
        self.base = base
        self.chart = chart
        self.token = token
        self.run = uuid.uuid4().hex[:8]
        self.checker = ResponseChecker()
        self.lock = threading.Lock()
        self.attempted = 0
        self.replayed = 0  # 202s that named an operation already accepted (idempotent duplicates)
        self.accepted: dict[str, str] = {}  # operation id -> release name
        self.conflicts: list[dict[str, Any]] = []  # error bodies of 409 ReleaseLocked answers
        self.reads = 0
        self.problems: list[str] = []
        self.installed: set[str] = set()  # releases whose install was seen succeeded (reads must find them)
        self.writers_done = threading.Event()

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def http(self, method: str, path: str, body: Any = None, key: str | None = None) -> Response:
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.token}",
            **({"Idempotency-Key": key} if key else {}),
        }
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        answer = _decode(raw)
        try:
            self.checker.check(method, path, status, answer)
        except Exception as exc:  # noqa: BLE001 - recorded, asserted at the end with everything else
            self.problem(
                f"{method} {path} -> {status} does not match the OpenAPI document: {exc!r:.300}; {answer!r:.300}"
            )
        return status, answer

    def mutate(self, release: str, method: str, path: str, body: Any, key: str | None = None) -> Response:
        """One mutating call, counted: 202 accepted, 409 ReleaseLocked, anything else is a problem."""
        status, data = self.http(method, path, body, key)
        with self.lock:
            self.attempted += 1
            if status == 202:
                self.replayed += data["id"] in self.accepted
                self.accepted[data["id"]] = release
            elif status == 409 and _code(data) == "ReleaseLocked":
                self.conflicts.append({"request": f"{method} {path} (key {key})", **data["error"]})
            else:
                self.problems.append(f"{method} {path} (key {key}) -> {status} {data}")
        return status, data

    def twins(self, release: str, method: str, path: str, body: Any, key: str) -> list[Response]:
        """The same request (same Idempotency-Key, same body) sent twice at the same moment."""
        barrier = threading.Barrier(2)

        def send() -> Response:
            barrier.wait(timeout=30)
            return self.mutate(release, method, path, body, key)

        with ThreadPoolExecutor(2) as pool:
            return [f.result() for f in [pool.submit(send) for _ in range(2)]]

    def operation(self, op_id: str) -> dict[str, Any]:
        status, op = self.http("GET", f"/v1/operations/{op_id}")
        assert status == 200, (op_id, status, op)
        return dict(op)

    def holder(self, answer: Any) -> str:
        """For a 409 ReleaseLocked: the holding operation's action and status, to tell a stale lease."""
        holder = answer.get("error", {}).get("details", {}).get("operation_id") if isinstance(answer, dict) else None
        if not holder:
            return "no holder named"
        op = self.operation(holder)
        return f"holder {holder}: {op['action']} {op['status']} (finished {op['finished_at']})"

    def wait(self, op_id: str, timeout: float = OP_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            op = self.operation(op_id)
            if op["status"] in TERMINAL:
                return op
            time.sleep(0.25)
        raise AssertionError(f"operation {op_id} did not finish within {timeout:.0f} s")

    def run_step(self, release: str, method: str, path: str, body: Any, key: str | None, twin: bool) -> dict[str, Any]:
        """A step of a release that nobody else touches: it must be accepted, and succeed."""
        if twin and key:
            answers = self.twins(release, method, path, body, key)
            assert [s for s, _ in answers] == [202, 202], answers
            assert answers[0][1]["id"] == answers[1][1]["id"], f"duplicates got different operations: {answers}"
            status, op = answers[0]
        else:
            status, op = self.mutate(release, method, path, body, key)
        assert status == 202, (method, path, status, op, self.holder(op))
        done = self.wait(op["id"])
        assert done["status"] == "succeeded", done
        return done

    def pages(self, path: str, field: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every item of a paginated list."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            query = urllib.parse.urlencode({**params, **({"next_token": token} if token else {})})
            status, page = self.http("GET", f"{path}?{query}")
            assert status == 200, page
            items += page[field]
            token = page["next_token"]
            if not token:
                return items


# ---------------------------------------------------------------- the workload


def distinct_release(load: Load, index: int) -> None:
    """Install, then UPGRADES upgrades of greeting, each after the previous one finished. Some steps carry an
    Idempotency-Key; every fourth release sends each step twice at once with the same key."""
    name = f"rel-{index:02d}"
    install = {"name": name, "chart": load.chart, "create_namespace": True, "values": {"greeting": f"hello {index}"}}
    steps: list[tuple[str, str, dict[str, Any]]] = [("POST", RELEASES, install)]
    steps += [
        ("PUT", f"{RELEASES}/{name}", {"chart": load.chart, "values": {"greeting": f"v{n} of {index}"}})
        for n in range(1, UPGRADES + 1)
    ]
    for step, (method, path, body) in enumerate(steps):
        key = f"{load.run}-{name}-{step}" if index % 2 == 0 else None
        load.run_step(name, method, path, body, key, twin=index % 4 == 0)
        if step == 0:
            with load.lock:
                load.installed.add(name)


def shared_call(load: Load, index: int) -> list[Response]:
    if index in SHARED_ROLLBACKS:
        method, path, body = "POST", f"{RELEASES}/{SHARED}/rollback", {}
    else:
        values = {
            "greeting": f"shared {index}",
            "color": random.Random(index).choice(["red", "green"]),
            "port": 8000 + index,
        }
        method, path, body = "PUT", f"{RELEASES}/{SHARED}", {"chart": load.chart, "values": values}
    key = f"{load.run}-{SHARED}-{index}" if index % 3 == 0 or index == SHARED_TWIN else None
    if index == SHARED_TWIN and key:
        return load.twins(SHARED, method, path, body, key)
    return [load.mutate(SHARED, method, path, body, key)]


def shared_caller(load: Load, thread: int) -> None:
    """SHARED_CALLS calls on the shared release, a little apart; retry nothing: 202 or 409 ReleaseLocked."""
    rng = random.Random(thread)
    for n in range(SHARED_CALLS):
        time.sleep(rng.uniform(0.5, 5.0))
        answers = shared_call(load, thread * SHARED_CALLS + n)
        accepted = {op["id"] for status, op in answers if status == 202}
        assert len(accepted) <= 1, f"duplicates got different operations: {answers}"
        for status, data in answers:
            assert status == 202 or (status == 409 and _code(data) == "ReleaseLocked"), (status, data)


READ_PATHS: tuple[Callable[[str], str], ...] = (
    lambda name: f"{RELEASES}/{name}",
    lambda name: f"{RELEASES}/{name}/history",
    lambda name: f"/v1/releases?namespace={NS}&limit=50",
    lambda name: f"/v1/operations?cluster=local&namespace={NS}&release={name}&limit=20",
    lambda name: "/v1/operations?limit=25",
)


def reader(load: Load, names: list[str], seed: int) -> None:
    """Hammer the reads until the writers are done: 200, or 404 ReleaseNotFound for a release not installed yet."""
    rng = random.Random(seed)
    while not load.writers_done.is_set():
        name, path_of = rng.choice(names), rng.choice(READ_PATHS)
        with load.lock:
            known = name in load.installed
        path = path_of(name)
        try:
            status, data = load.http("GET", path)
        except Exception as exc:  # noqa: BLE001 - a dropped connection is a finding, not a reason to stop
            load.problem(f"GET {path} raised {exc!r}")
            continue
        per_release = path.startswith(f"{RELEASES}/{name}")
        if not (status == 200 or (status == 404 and per_release and not known and _code(data) == "ReleaseNotFound")):
            load.problem(f"GET {path} (installed: {known}) -> {status} {data!r:.500}")
        with load.lock:
            load.reads += 1
        time.sleep(0.02)


def setup_shared(load: Load) -> None:
    """The shared release: installed, then upgraded once, so that a rollback always has a previous revision."""
    body = {"name": SHARED, "chart": load.chart, "create_namespace": True, "values": {"greeting": "shared 0"}}
    load.run_step(SHARED, "POST", RELEASES, body, None, twin=False)
    with load.lock:
        load.installed.add(SHARED)
    load.run_step(
        SHARED,
        "PUT",
        f"{RELEASES}/{SHARED}",
        {"chart": load.chart, "values": {"greeting": "shared 1"}},
        f"{load.run}-{SHARED}-setup",
        twin=False,
    )


def run_workload(load: Load, names: list[str]) -> None:
    with ThreadPoolExecutor(THREADS, thread_name_prefix="load") as pool:
        readers = [pool.submit(reader, load, names, seed) for seed in range(READERS)]
        writers: list[Future[None]] = [pool.submit(shared_caller, load, t) for t in range(SHARED_THREADS)]
        writers += [pool.submit(distinct_release, load, i) for i in range(DISTINCT)]
        try:
            for future in writers:
                if (exc := future.exception()) is not None:
                    load.problem(f"a writer failed: {exc!r:.1000}")
        finally:
            load.writers_done.set()
        for future in readers:
            if (exc := future.exception()) is not None:
                load.problem(f"a reader failed: {exc!r:.1000}")


def drain(load: Load, timeout: float) -> dict[str, dict[str, Any]]:
    """Every accepted operation as last seen, after waiting (up to ``timeout``) for all of them to end. One that
    cannot be read any more is kept with status ``answered <code>`` (it is lost, not ended)."""
    deadline = time.monotonic() + timeout
    last: dict[str, dict[str, Any]] = {}
    pending = set(load.accepted)
    while pending:
        for op_id in sorted(pending):
            status, op = load.http("GET", f"/v1/operations/{op_id}")
            last[op_id] = (
                op
                if status == 200
                else {
                    "id": op_id,
                    "status": f"answered {status}",
                    "action": None,
                    "release": {"name": load.accepted[op_id]},
                    "answer": op,
                }
            )
        pending = {i for i in pending if last[i]["status"] not in TERMINAL and "answer" not in last[i]}
        if pending and time.monotonic() > deadline:
            break
        if pending:
            time.sleep(0.5)
    return last


# ---------------------------------------------------------------- the checks after the load


def conflict_findings(load: Load) -> list[str]:
    """Every 409 must name the operation holding the shared release, and that operation must exist."""
    out: list[str] = []
    for error in load.conflicts:
        holder = error.get("details", {}).get("operation_id")
        if not holder:
            out.append(f"a ReleaseLocked answer names no operation: {error}")
            continue
        status, op = load.http("GET", f"/v1/operations/{holder}")
        if status != 200 or op["release"]["name"] != SHARED:
            out.append(f"a ReleaseLocked answer names {holder}, which is not an operation on {SHARED}: {status} {op}")
    return out


def helm_state(stack: Stack, names: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    # helm 4 lists releases in every status by default (helm 3 needs --all; helm 4 no longer has the flag)
    listed = {r["name"]: r for r in json.loads(helm_cli(stack, "list", "-A", "-o", "json")) if r["namespace"] == NS}
    histories = {n: json.loads(helm_cli(stack, "history", n, "-n", NS, "-o", "json", "--max", "1000")) for n in names}
    return listed, histories


def check_store_matches_helm(
    load: Load, listed: dict[str, dict[str, Any]], histories: dict[str, list[dict[str, Any]]]
) -> None:
    assert sorted(listed) == sorted(histories), f"helm lists {sorted(listed)}"
    stored = {
        r["name"]: r
        for r in load.pages(
            "/v1/releases",
            "releases",
            {
                "namespace": NS,
                "status": ",".join(
                    ("deployed", "failed", "pending", "superseded", "uninstalled", "uninstalling", "unknown")
                ),
            },
        )
    }
    assert sorted(stored) == sorted(listed)
    for name, helm in listed.items():
        status, record = load.http("GET", f"{RELEASES}/{name}")
        assert status == 200, record
        want = (helm["status"], int(helm["revision"]), helm["chart"])
        assert (record["status"], record["revision"], f"{record['chart']}-{record['chart_version']}") == want, name
        assert (stored[name]["status"], stored[name]["revision"]) == want[:2], name
        status, hist = load.http("GET", f"{RELEASES}/{name}/history?max=1000")
        assert status == 200, hist
        ours = [(h["revision"], h["status"], h["chart"], h["description"]) for h in hist["history"]]
        theirs = [(h["revision"], h["status"], h["chart"], h["description"]) for h in histories[name]]
        assert sorted(ours) == sorted(theirs), f"{name}: DynamoDB history {ours} != helm history {theirs}"


def check_ran_once(load: Load, name: str, final: dict[str, dict[str, Any]], latest: int) -> int:
    """The operations recorded for a release are exactly the accepted ones; each succeeded install/upgrade/rollback
    made one revision (the revisions they report are distinct, and with no failure they are exactly 1..latest);
    none ran while another of the release's operations was running. Returns the number that failed."""
    ours = {i for i, rel in load.accepted.items() if rel == name}
    recorded = load.pages("/v1/operations", "operations", {"cluster": "local", "namespace": NS, "release": name})
    assert {o["id"] for o in recorded} == ours, f"{name}: operations recorded != operations accepted"
    ops = [final[i] for i in ours]
    done = sorted(
        o["result"]["revision"] for o in ops if o["status"] == "succeeded" and o["action"] in REVISION_ACTIONS
    )
    failed = [o for o in ops if o["status"] == "failed"]
    assert len(done) == len(set(done)), f"{name}: two operations report the same revision: {done}"
    # a failed upgrade or rollback may still have made a (failed) revision: at most one each
    assert len(done) <= latest <= len(done) + len(failed), (name, done, latest, failed)
    if not failed:
        assert done == list(range(1, latest + 1)), f"{name}: revisions {done}, helm's latest is {latest}"
    runs = sorted((o["started_at"], o["finished_at"], o["id"]) for o in ops if o["started_at"])
    for before, after in zip(runs, runs[1:], strict=False):
        assert before[1] <= after[0], f"{name}: {before[2]} and {after[2]} ran at the same time"
    return len(failed)


def summary(load: Load, final: dict[str, dict[str, Any]], seconds: float) -> str:
    statuses = [o["status"] for o in final.values()]
    done, failed = statuses.count("succeeded"), statuses.count("failed")
    lost = len(load.accepted) - done - failed
    shared = sum(rel == SHARED for rel in load.accepted.values()) - 2  # less the setup's install and upgrade
    rollbacks = sum(o["action"] == "rollback" for o in final.values())
    return (
        f"load: attempted={load.attempted} accepted={len(load.accepted)} replayed={load.replayed} "
        f"shared_accepted={shared}/{SHARED_THREADS * SHARED_CALLS} (rollbacks {rollbacks}) "
        f"conflicts_409={len(load.conflicts)} completed={done} failed={failed} lost={lost} reads={load.reads} "
        f"duration_s={seconds:.1f} ops_per_s={(done + failed) / seconds:.2f}"
    )


def test_concurrent_load_ends_every_operation_once_and_matches_helm(load_stack: Stack) -> None:
    load = Load(load_stack.api, load_stack.example_charts["hello"], load_stack.token)
    names = [SHARED] + [f"rel-{i:02d}" for i in range(DISTINCT)]
    started = time.monotonic()
    setup_shared(load)
    run_workload(load, names)
    final = drain(load, DRAIN_TIMEOUT_S)
    print("\n" + summary(load, final, time.monotonic() - started), flush=True)

    stuck = {
        i: (o["status"], o["release"]["name"], o.get("started_at"))
        for i, o in final.items()
        if o["status"] not in TERMINAL
    }
    findings = load.problems + conflict_findings(load)
    findings += [f"operations still not ended {DRAIN_TIMEOUT_S:.0f} s after the load: {stuck}"] if stuck else []
    assert not findings, f"{len(findings)} findings (logs: {load_stack.logs}):\n" + "\n".join(findings[:20])
    assert len(load.accepted) >= 1 + 1 + DISTINCT * (1 + UPGRADES) + 1, "the shared release accepted nothing"
    listed, histories = helm_state(load_stack, names)
    check_store_matches_helm(load, listed, histories)
    for name in names:
        failures = check_ran_once(load, name, final, int(listed[name]["revision"]))
        if name != SHARED:
            assert failures == 0, f"{name}: {failures} operations failed"
            assert int(listed[name]["revision"]) == 1 + UPGRADES
