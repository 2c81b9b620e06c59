"""scripts/check_values_yaml.py (run by `make lint`): YAML is loaded as values only in chalicelib/domain/values."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_values_yaml", ROOT / "scripts" / "check_values_yaml.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_project_passes() -> None:
    assert _checker().findings(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_a_load_outside_domain_values_fails_in_every_spelling(tmp_path: Path) -> None:
    checker = _checker()
    checker.ALLOWED.clear()
    root = _tree(
        tmp_path,
        {
            "chalicelib/compat/a.py": "import yaml\ndef show(t):\n    return yaml.safe_load(t)\n",
            "chalicelib/core/b.py": "from yaml import load as yl\nx = yl('a: 1')\n",
            "chalicelib/domain/c.py": "from chalicelib.domain import yamlguard\ndef f(t):\n    return yamlguard.load(t)\n",
            "chalicelib/domain/values/d.py": "import yaml\nx = yaml.load('a: 1')\n",  # the one parser
            "chalicelib/domain/e.py": "import yaml\nx = yaml.safe_dump({})\n",  # dumping is not reading
        },
    )
    found = checker.findings(root)
    assert [line.split(":")[0] for line in found] == [
        "chalicelib/compat/a.py",
        "chalicelib/core/b.py",
        "chalicelib/domain/c.py",
    ]
    assert "yaml.safe_load in show()" in found[0]
    assert "yaml.load in <module>()" in found[1]


def test_an_allowed_module_that_no_longer_loads_yaml_fails(tmp_path: Path) -> None:
    checker = _checker()
    checker.ALLOWED.clear()
    checker.ALLOWED["chalicelib/domain/gone.py"] = "was a Chart.yaml reader"
    root = _tree(tmp_path, {"chalicelib/domain/gone.py": "x = 1\n"})
    assert checker.findings(root) == [
        "scripts/check_values_yaml.py: ALLOWED chalicelib/domain/gone.py loads no YAML: remove it"
    ]
    assert checker.main(["check", str(root)]) == 1
