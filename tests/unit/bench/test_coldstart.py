"""Cold start helpers: import-time parsing and package sizes. No stack is started and no timing is asserted."""

from __future__ import annotations

import zipfile
from pathlib import Path

from bench import coldstart


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
