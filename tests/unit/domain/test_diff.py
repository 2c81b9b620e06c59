"""Object-by-object diffs of rendered manifests: changes, unified diffs, Secret values never shown."""

from __future__ import annotations

from chalicelib.domain import diff

CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: "1"\n  b: "{b}"\n'
SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  token: {token}\n  same: c2FtZQ==\n"


def manifest(*docs: str) -> str:
    return "".join(f"---\n# Source: chart/templates/t{i}.yaml\n{d}" for i, d in enumerate(docs))


def changes(old: str, new: str, reveal: bool = False) -> dict[str, dict]:
    return {e["name"]: e for e in diff.compare(diff.objects(old, "ns"), diff.objects(new, "ns"), reveal)}


def test_changed_key_only_and_unchanged_objects_without_diff() -> None:
    out = changes(
        manifest(CM.format(name="x", b=2), CM.format(name="y", b=2)),
        manifest(CM.format(name="x", b=3), CM.format(name="y", b=2)),
    )
    assert out["y"]["change"] == "unchanged" and "diff" not in out["y"]
    lines = [ln for ln in out["x"]["diff"].splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert lines == ['-  b: "2"', '+  b: "3"']
    assert out["x"]["source"] == "chart/templates/t0.yaml" and out["x"]["namespace"] == "ns"


def test_added_and_removed() -> None:
    out = changes(manifest(CM.format(name="old", b=1)), manifest(CM.format(name="new", b=1)))
    assert (out["old"]["change"], out["new"]["change"]) == ("removed", "added")
    assert "/dev/null" in out["old"]["diff"] and "/dev/null" in out["new"]["diff"]
    assert diff.summary(list(out.values())) == {"added": 1, "changed": 0, "removed": 1, "unchanged": 0}


def test_secret_values_are_masked_and_a_change_still_shows() -> None:
    out = changes(manifest(SECRET.format(token="b2xkLXNlY3JldA==")), manifest(SECRET.format(token="bmV3LXNlY3JldA==")))
    text = out["s"]["diff"]
    assert out["s"]["change"] == "changed"
    assert "b2xk" not in text and "bmV3" not in text and "c2FtZQ" not in text
    assert f"+  token: {diff.CHANGED_MASK}" in text
    same = changes(manifest(SECRET.format(token="eA==")), manifest(SECRET.format(token="eA==")))
    assert same["s"]["change"] == "unchanged"
    shown = changes(manifest(SECRET.format(token="b2xk")), manifest(SECRET.format(token="bmV3")), reveal=True)
    assert "bmV3" in shown["s"]["diff"]


def test_hooks_and_unparseable_documents() -> None:
    objs = diff.objects("---\nkind: [\n---\n" + CM.format(name="h", b=1), "ns", hook=True)
    assert [(o.name, o.hook) for o in objs] == [("h", True)]
    assert diff.objects("---\n# only a comment\n", "ns") == []
    entries = diff.compare([], objs)
    assert entries[0]["change"] == "added" and entries[0]["diff"].startswith("--- /dev/null")
