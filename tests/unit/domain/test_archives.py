"""Chart archives: inspection, what a chart shows, archives refused (paths, links, special files, Chart.yaml),
size limits, unpacking."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

from chalicelib.domain import archives
from chalicelib.errors import InvalidInput, PayloadTooLarge


def tgz(members: list[tuple[str, bytes | None, str]]) -> bytes:
    """(name, data, kind) with kind file | dir | symlink | hardlink | fifo."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            info.linkname = "/etc/passwd" if "link" in kind else ""
            tar.addfile(info)
    return buf.getvalue()


CHART_YAML = b"apiVersion: v2\nname: demo\nversion: 1.2.3\nappVersion: '1.0'\ndescription: d\n"
GOOD = [
    ("demo", None, "dir"),
    ("demo/Chart.yaml", CHART_YAML, "file"),
    ("demo/values.yaml", b"a: 1\n", "file"),
    ("demo/README.md", b"# demo\n", "file"),
    ("demo/crds/crd.yaml", b"kind: CustomResourceDefinition\n", "file"),
    ("demo/templates/cm.yaml", b"kind: ConfigMap\n", "file"),
]


def test_archive_inspect_and_show() -> None:
    chart = archives.inspect(tgz(GOOD), archives.Limits())
    assert (chart.name, chart.version, chart.file_count, chart.top) == ("demo", "1.2.3", 6, "demo")
    shown = chart.show(("chart", "values", "readme", "crds"))
    assert shown["chart"]["appVersion"] == "1.0" and shown["values"] == "a: 1\n" and shown["readme"] == "# demo\n"
    assert shown["crds"] == [{"path": "crds/crd.yaml", "content": "kind: CustomResourceDefinition\n"}]
    assert "templates/cm.yaml" not in chart.texts


def test_show_schema_is_the_text_of_values_schema_json() -> None:
    schema = b'{"type": "object", "properties": {"a": {"type": "integer"}}}'
    chart = archives.inspect(tgz([*GOOD, ("demo/values.schema.json", schema, "file")]), archives.Limits())
    assert chart.show(("schema",)) == {"schema": schema.decode()}
    assert archives.inspect(tgz(GOOD), archives.Limits()).show(("schema",)) == {"schema": ""}


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ([*GOOD, ("demo/../../etc/x", b"x", "file")], "'..'"),
        ([*GOOD, ("/etc/x", b"x", "file")], "absolute"),
        ([*GOOD, ("demo/link", None, "symlink")], "link"),
        ([*GOOD, ("demo/hard", None, "hardlink")], "link"),
        ([*GOOD, ("demo/pipe", None, "fifo")], "special"),
        ([*GOOD, ("other/x", b"x", "file")], "one top-level"),
        ([("demo/values.yaml", b"a: 1", "file")], "no Chart.yaml"),
        ([("demo/Chart.yaml", b"apiVersion: v2\nname: demo\n", "file")], "version"),
        ([("demo/Chart.yaml", b"apiVersion: v3\nname: demo\nversion: 1.0.0\n", "file")], "apiVersion"),
        ([("demo/Chart.yaml", b"apiVersion: v2\nname: ../x\nversion: 1.0.0\n", "file")], "name"),
        ([("demo/Chart.yaml", b": :\n", "file")], "YAML"),
    ],
)
def test_archive_refused(members: list[tuple[str, bytes | None, str]], words: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        archives.inspect(tgz(members), archives.Limits())
    assert exc.value.field == "chart" and words in exc.value.message


def test_archive_limits() -> None:
    with pytest.raises(InvalidInput, match="gzipped tar"):
        archives.inspect(b"\x1f\x8b garbage", archives.Limits())
    with pytest.raises(PayloadTooLarge, match="more than 3 files"):
        archives.inspect(tgz(GOOD), archives.Limits(max_files=3))
    with pytest.raises(PayloadTooLarge, match="unpacks to more"):
        archives.inspect(tgz([*GOOD, ("demo/big", b"x" * 5000, "file")]), archives.Limits(max_unpacked_bytes=4000))
    with pytest.raises(PayloadTooLarge):
        archives.inspect(tgz(GOOD), archives.Limits(max_bytes=10))


def test_unpack(tmp_path: Any) -> None:
    path = archives.unpack(tgz(GOOD), tmp_path, archives.Limits())
    assert path == tmp_path / "demo" and (path / "templates" / "cm.yaml").read_bytes() == b"kind: ConfigMap\n"


def test_a_chart_yaml_alias_bomb_is_refused() -> None:
    anchors = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 7)]
    chart_yaml = (CHART_YAML.decode() + "\n".join(anchors) + "\nkeywords: *b6\n").encode()
    with pytest.raises(InvalidInput) as exc:
        archives.inspect(tgz([("demo/Chart.yaml", chart_yaml, "file")]), archives.Limits())
    assert (
        exc.value.field == "chart"
        and "Chart.yaml was refused: its aliases expand to more than 10000" in exc.value.message
    )
