"""`chalice package` with the merge template yields a template with the table, the queue and the helm layer; the
bytecode step of `make package` adds a ``.pyc`` the Lambda runtime loads for every module it may import at start."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from deploy import bytecode, runtime
from deploy.stack import RUNTIME

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def packaged(sam: tuple[Path, dict[str, Any]]) -> Path:
    """The session's ``chalice package --stage prod`` output (sam.json, deployment.zip)."""
    return sam[0].parent


def test_runtime_dependencies_replace_chalices_and_keep_the_app(tmp_path: Path) -> None:
    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in (
            "app.py",
            "chalicelib/__init__.py",
            "chalice/app.py",
            "yaml/_yaml.cpython-311-x86_64-linux-gnu.so",
        ):
            zf.writestr(name, "x")
    deps = tmp_path / "deps"
    (deps / "yaml").mkdir(parents=True)
    (deps / "yaml" / "_yaml.cpython-313-x86_64-linux-gnu.so").write_text("y")
    (deps / "yaml" / "__pycache__").mkdir()
    (deps / "yaml" / "__pycache__" / "x.pyc").write_text("stale")
    for unused in ("kubernetes/aio/__init__.py", "aiohttp/__init__.py", "aiohttp-3.14.5.dist-info/METADATA"):
        (deps / unused).parent.mkdir(parents=True, exist_ok=True)
        (deps / unused).write_text("never imported")
    assert runtime.retarget(archive, deps) == 1
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == [
            "app.py",
            "chalice/app.py",
            "chalicelib/__init__.py",
            "yaml/_yaml.cpython-313-x86_64-linux-gnu.so",
        ]
    assert runtime.version() == RUNTIME.removeprefix("python") and runtime.cache_dir().name.startswith(RUNTIME)


NOT_SHIPPED_IMPORT = """
import importlib.abc, re, sys
from deploy.runtime import NOT_SHIPPED
class NotShipped(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if NOT_SHIPPED.match(name.replace(".", "/") + "/"):
            raise ImportError(f"{name} is not shipped")
sys.meta_path.insert(0, NotShipped())
import app
import kubernetes.config, kubernetes.client.api_client
from kubernetes import client
client.CoreV1Api
print("imported")
"""


def test_every_kubernetes_path_imports_without_what_is_not_shipped() -> None:
    """The worker's read-back (ApiClient), the probe, namespaces and recovery (CoreV1Api) need none of what
    ``deploy.runtime.NOT_SHIPPED`` leaves out of the package."""
    done = subprocess.run(
        [sys.executable, "-c", NOT_SHIPPED_IMPORT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "imported", done.stderr[-2000:]


def test_bytecode_is_compiled_by_the_runtimes_python(packaged: Path, tmp_path: Path) -> None:
    assert bytecode.packaged_runtimes(packaged) == {RUNTIME}
    loader = sys.executable
    if bytecode.interpreter_runtime() != RUNTIME:
        other = bytecode.runtime_interpreter(RUNTIME)
        before = (packaged / "deployment.zip").stat().st_size
        assert bytecode.main([str(packaged)]) == 0
        if other is None:  # no such Python here: nothing shipped (a .pyc of another minor is never loaded)
            assert (packaged / "deployment.zip").stat().st_size == before
            bytecode.add_bytecode(packaged / "deployment.zip")  # the mechanism, with this Python
        else:  # compiled by the runtime's own Python, found on this machine
            loader = other
    else:
        assert bytecode.main([str(packaged)]) == 0
    tag = subprocess.run(
        [loader, "-c", "import sys; print(sys.implementation.cache_tag)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with zipfile.ZipFile(packaged / "deployment.zip") as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "task")
    sources = [n for n in names if n.endswith(".py") and n.startswith(("app.py", "chalicelib/", "yaml/", "boto3/"))]
    assert "app.py" in sources and "chalicelib/core/service.py" in sources
    console = {n.rsplit("/", 1)[1] for n in names if n.startswith("chalicelib/api/console_assets/")}
    assert {"index.html", "main.js", "app.css"} <= console  # the web console ships in the same Lambda
    missing = [n for n in sources if _pyc(n, tag) not in names]
    assert missing == []
    assert _pyc("kubernetes/config/kube_config.py", tag) in names  # the worker's read-back imports it
    assert _pyc("kubernetes/aio/__init__.py", tag) not in names  # never imported: left out (size)
    header = (tmp_path / "task" / _pyc("chalicelib/core/service.py", tag)).read_bytes()[:8]
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, never checked against the source
    # the runtime loads the .pyc, not the source: a source broken after packaging is never read
    (tmp_path / "task" / "chalicelib/domain/semver.py").write_text("raise RuntimeError('source was compiled')\n")
    code = "import chalicelib.domain.semver as m; print(m.__cached__)"
    env = {"PYTHONPATH": str(tmp_path / "task"), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([loader, "-S", "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(_pyc("chalicelib/domain/semver.py", tag))


def _pyc(source: str, tag: str) -> str:
    folder, _, name = source.rpartition("/")
    return f"{folder + '/' if folder else ''}__pycache__/{name.removesuffix('.py')}.{tag}.pyc"
