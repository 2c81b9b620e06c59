"""Smoke tests of the benchmark suite's pure helpers: statistics, the overhead target, tables, log parsing, sizes.
No stack is started and no timing is asserted."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import pytest

from bench import coldstart, overhead, scale, suite, throughput, workerlog
from bench.report import Series, allowed_overhead, markdown, ms, percentile, ratio, table, verdict
from chalicelib.adapters.store.codec import release_attributes, release_from_item


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) != percentile([], 0.5)  # NaN
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile(list(map(float, range(1, 101))), 0.95) == pytest.approx(95.05)
    summary = Series([1.0, 2.0, 3.0]).summary()
    assert summary["p50_s"] == 2.0 and summary["n"] == 3 and summary["p95_s"] == pytest.approx(2.9)


@pytest.mark.parametrize(
    ("api", "helm", "expected"),
    [
        (0.30, 0.27, "PASS"),  # +30 ms: under the 50 ms floor
        (0.33, 0.27, "MISS"),  # +60 ms: over 50 ms, and 50 ms > 10 % of 270 ms
        (2.15, 2.00, "PASS"),  # +150 ms: under 10 % of 2 s
        (2.25, 2.00, "MISS"),
        (0.01, 0.05, "PASS"),  # faster than helm
    ],
)
def test_verdict_uses_the_larger_of_ten_percent_and_fifty_ms(api: float, helm: float, expected: str) -> None:
    assert verdict(api, helm)["verdict"] == expected
    assert allowed_overhead(helm) == max(0.1 * helm, 0.05)


def test_verdict_without_samples_is_a_dash() -> None:
    assert verdict(math.nan, 0.2)["verdict"] == "-"


def test_tables_align_and_format() -> None:
    text = table("T", ["verb", "p50", "note"], [["install", ms(0.2714), "x"], ["get", ms(0.0123, 1)]])
    lines = text.splitlines()
    assert lines[0] == "T" and lines[1] == "="
    assert lines[2].startswith("verb") and "271" in lines[4] and "12.3" in lines[5]
    assert len({len(line.rstrip()) for line in lines[2:4]}) == 1
    assert ms(None) == "-" and ms(math.nan) == "-" and ratio(2.0) == "2.00x" and ratio(math.nan) == "-"
    md = markdown(["a", "b"], [["x|y", "1"]])
    assert md.splitlines() == ["| a | b |", "|---|---:|", "| x\\|y | 1 |"]


WORKER_LOG = """worker 12 INFO chalicelib.operations: something else
worker 12 INFO chalicelib.helm: helm install --namespace default --values values.json --server-side=false --timeout 300s --output json -- ovh-api-0 http://127.0.0.1:1/benchapp-1.0.0.tgz rc=0 0.31s
worker 12 INFO chalicelib.helm: helm history --namespace default --max 1000000 --output json -- ovh-api-0 rc=0 0.05s
worker 12 INFO chalicelib.helm: helm status --namespace default --output json -- ovh-api-0 rc=0 0.06s
worker 12 INFO chalicelib.helm: helm get metadata --namespace default --output json -- ovh-api-0 rc=0 0.04s
"""


def test_worker_log_lines_split_into_verb_and_readback() -> None:
    calls = workerlog.parse(WORKER_LOG)
    assert [c.label for c in calls] == ["install", "history", "status", "get metadata"]
    split = workerlog.split(calls)
    assert split["helm_verb_s"] == pytest.approx(0.31)
    assert split["helm_readback_s"] == pytest.approx(0.15)
    assert split["helm get metadata"] == pytest.approx(0.04)


def test_log_tail_returns_only_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "worker-0.log"
    log.write_text("old\n")
    tail = workerlog.LogTail(tmp_path)
    with open(log, "a") as fh:
        fh.write("new\n")
    assert tail.read() == "new\n" and tail.read() == ""


def test_overhead_tables_render_from_json() -> None:
    stats = overhead.VerbStats("install", Series([0.5, 0.6]), Series([0.3, 0.31]))
    for name, value in {
        "request_to_202_s": 0.05,
        "queue_wait_s": 0.1,
        "helm_verb_s": 0.3,
        "helm_readback_s": 0.15,
        "worker_other_s": 0.02,
        "poll_lag_s": 0.01,
        "helm_calls": 4.0,
        "helm history": 0.05,
    }.items():
        stats.add_part(name, value)
    data = [stats.to_json(), overhead.VerbStats("get", Series([0.02]), Series([0.05])).to_json()]
    readback = [{"variant": "history alone", **Series([0.05, 0.06]).summary()}]
    text = overhead.render({"verbs": data, "readback": readback})
    assert "MISS" in text and "PASS" in text and "history 50" in text and "history alone" in text
    assert "| install |" in overhead.render({"verbs": data}, md=True)


def test_importtime_parsing_keeps_the_largest_cumulative_per_package() -> None:
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        200 | botocore.utils\n"
        "import time:       300 |     150000 | boto3\n"
        "import time:        50 |       9000 | botocore\n"
    )
    assert coldstart.slowest_imports(stderr) == [("boto3", 0.15), ("botocore", 0.009)]


def test_zip_sizes_by_top_level_entry(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("kubernetes/a.py", "a" * 1000)
        zf.writestr("kubernetes/b.py", "b" * 500)
        zf.writestr("app.py", "c" * 10)
    sizes = coldstart.zip_sizes(path)
    assert sizes["unzipped_bytes"] == 1510 and sizes["files"] == 3
    assert sizes["largest_unzipped"][0] == {"entry": "kubernetes", "bytes": 1500}


def test_seeded_records_use_the_store_layout_and_estimated_capacity() -> None:
    record = scale.seeded_record("local", 1234, 1_700_000_000.0)
    assert record.ref.namespace == "seed-0012" and record.ref.name == "rel-001234"
    assert release_from_item(release_attributes(record)) == record
    item = {"pk": {"S": "REL#x"}, "n": {"N": "12"}, "m": {"M": {"k": {"S": "vv"}}}, "b": {"BOOL": True}}
    assert scale.item_size(item) == 2 + 5 + 1 + 3 + 1 + (3 + 1 + 2 + 1) + 1 + 1
    assert scale.query_rcu(0) == 0.5 and scale.query_rcu(4096) == 0.5 and scale.query_rcu(4097) == 1.0


def test_quick_options_are_small() -> None:
    opts = suite.parse_args(["--quick"])
    assert opts.repetitions <= 3 and max(opts.levels) <= 1000 and opts.real <= 10 and opts.throughput_ops <= 4
    full = suite.parse_args(["--helm", "3", "--only", "coldstart"])
    assert (
        full.levels == (1000, 10000, 100000) and full.phases == ("coldstart",) and full.out.name.endswith("helm3.json")
    )


def test_throughput_table_renders() -> None:
    batch = {
        "ops": 4,
        "succeeded": 4,
        "failed": 0,
        "seconds": 2.0,
        "ops_per_min": 120.0,
        "retries_503": 0,
        "submit_s": 0.1,
    }
    text = throughput.render(
        [
            {
                "workers": 1,
                "count": 4,
                "api_install": batch,
                "api_uninstall": batch,
                "helm_install": batch,
                "helm_uninstall": batch,
            }
        ]
    )
    assert "1.00x" in text and "120" in text
