"""`make lint`: values YAML is read by `chalicelib/domain/values` only (docs/API.md, "Values").

Helm reads values in its own YAML dialect (go-yaml v2: `y` is true, `22:22` a string, dates strings), and
PyYAML's safe loader reads the same text differently (`22:22` is 1342, `y` the string "y", a date a `date`).
Every text that becomes values, or is shown as values, therefore goes through `chalicelib.domain.values`
(`parse_values`, `parse_values_files`, `load_document`). This check walks the Python sources and fails on any
YAML load outside that package, unless the module that loads is listed in ALLOWED with the reason its YAML
is not values (Chart.yaml, index.yaml, manifests, kubeconfigs, ...). An entry that no longer matches a load fails
too, so the list cannot rot.

Run: python scripts/check_values_yaml.py [ROOT]  (exit 1 and one line per finding when a load is not allowed)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

SOURCES = ("app.py", "chalicelib", "charthouse_cli", "devstack", "chaos", "bench", "deploy")
VALUES_PACKAGE = "chalicelib/domain/values/"  # the one values parser: every load is allowed here

# Functions of the yaml module (and of the guard every outside YAML goes through) that turn text into objects.
YAML_LOADS = frozenset(
    {"load", "load_all", "safe_load", "safe_load_all", "full_load", "full_load_all", "unsafe_load", "compose"}
)
GUARD_LOADS = frozenset({"load", "load_leading"})

# module -> why the YAML it loads never becomes values.
ALLOWED: dict[str, str] = {
    "chalicelib/domain/yamlguard.py": "the guard itself (alias and size budgets); domain/values calls it too",
    "chalicelib/domain/gitops.py": "a runtime's local chart's Chart.yaml (its releases file: domain/values)",
    "chalicelib/domain/archives.py": "a chart archive's Chart.yaml (metadata)",
    "chalicelib/domain/dependencies.py": "Chart.yaml / requirements.yaml dependencies",
    "chalicelib/domain/chartindex.py": "a repository's index.yaml",
    "chalicelib/domain/manifests.py": "rendered Kubernetes manifests",
    "chalicelib/domain/diff.py": "rendered Kubernetes manifests",
    "chalicelib/domain/redact.py": "a rendered manifest whose Secret data is masked",
    "chalicelib/core/clusters.py": "a cluster's kubeconfig",
    "chalicelib/adapters/kube/client.py": "the service's own flattened kubeconfig",
    "charthouse_cli/config.py": "the CLI's own settings file",
    "charthouse_cli/packaging.py": "a chart's Chart.yaml and requirements.yaml (metadata, dependencies)",
    "charthouse_cli/commands/access.py": "a policy file (principals and rules, no values)",
    "charthouse_cli/commands/runtime.py": (
        "KNOWN GAP (docs/API.md): a runtime file may hold inline values; the CLI still reads it with PyYAML"
    ),
}


def _loads(tree: ast.AST) -> Iterator[tuple[int, str, str]]:
    """(line, enclosing function, call) for every YAML load in a module."""
    imported: dict[str, str] = {}  # a bare name -> "yaml.safe_load", for `from yaml import safe_load`
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("yaml", "chalicelib.domain.yamlguard"):
            short = "yaml" if node.module == "yaml" else "yamlguard"
            names = YAML_LOADS if short == "yaml" else GUARD_LOADS
            for alias in node.names:
                if alias.name in names:
                    imported[alias.asname or alias.name] = f"{short}.{alias.name}"

    def visit(node: ast.AST, function: str) -> Iterator[tuple[int, str, str]]:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name if function == "<module>" else function  # nested: the outer function
            if isinstance(child, ast.Call):
                target = child.func
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    owner, name = target.value.id, target.attr
                    if (owner == "yaml" and name in YAML_LOADS) or (owner == "yamlguard" and name in GUARD_LOADS):
                        yield child.lineno, function, f"{owner}.{name}"
                elif isinstance(target, ast.Name) and target.id in imported:
                    yield child.lineno, function, imported[target.id]
            yield from visit(child, inner)

    yield from visit(tree, "<module>")


def findings(root: Path) -> list[str]:
    """One line per YAML load that is neither in ``domain/values`` nor allowed; also allowed entries that no
    longer match a load (so the list cannot rot)."""
    out: list[str] = []
    used: set[str] = set()
    for source in SOURCES:
        base = root / source
        paths = [base] if base.is_file() else sorted(base.rglob("*.py")) if base.is_dir() else []
        for path in paths:
            rel = path.relative_to(root).as_posix()
            if rel.startswith(VALUES_PACKAGE):
                continue
            for line, function, call in _loads(ast.parse(path.read_text(encoding="utf-8"), rel)):
                if rel in ALLOWED:
                    used.add(rel)
                else:
                    out.append(
                        f"{rel}:{line}: {call} in {function}() reads YAML outside chalicelib/domain/values: "
                        "values YAML goes through domain/values (parse_values, load_document); YAML that is "
                        "not values is listed in scripts/check_values_yaml.py ALLOWED with its reason"
                    )
    for rel in sorted(set(ALLOWED) - used):
        out.append(f"scripts/check_values_yaml.py: ALLOWED {rel} loads no YAML: remove it")
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1]
    found = findings(root)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
