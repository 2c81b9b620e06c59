"""The throughput table renders. No stack is started and no timing is asserted."""

from __future__ import annotations

from bench import throughput


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


def test_the_cpu_of_a_process_and_its_children_is_read_from_proc() -> None:
    import os

    import pytest

    if not os.path.isdir("/proc"):
        pytest.skip("reads /proc")
    before = throughput.cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))
    assert throughput.cpu_seconds(os.getpid()) > before
    assert throughput.cpu_seconds(None) == 0.0
