"""`chalice package` with the merge template yields a template with the table, the queue and the helm layer; the
bytecode step of `make package` adds a ``.pyc`` the Lambda runtime loads for every module it may import at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chalicelib.adapters.store import table_definition
from chalicelib.config import QUEUE_NAME
from deploy import bytecode
from deploy.merge_template import merge_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``chalice package --stage prod`` output (sam.json, deployment.zip), built once for this module."""
    tmp_path = tmp_path_factory.mktemp("package")
    merge = tmp_path / "merge.json"
    merge.write_text(json.dumps(merge_template()))
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [str(chalice), "package", "--stage", "prod", "--merge-template", str(merge), str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return tmp_path / "out"


def test_packaged_template_has_every_resource(packaged: Path) -> None:
    resources = json.loads((packaged / "sam.json").read_text())["Resources"]
    table = resources["Table"]["Properties"]
    assert table["KeySchema"] == table_definition("charthouse")["KeySchema"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    assert resources["OperationsQueue"]["Properties"]["QueueName"] == QUEUE_NAME
    worker = resources["ExecuteOperations"]["Properties"]
    assert worker["Layers"] == [{"Ref": "HelmLayer"}] and worker["Timeout"] == 900
    assert resources["OperationsQueue"]["Properties"]["VisibilityTimeout"] > worker["Timeout"]
    assert QUEUE_NAME in json.dumps(worker["Events"])
    assert resources["APIHandler"]["Properties"]["Layers"] == [{"Ref": "HelmLayer"}]
    assert worker["Environment"]["Variables"]["CHARTHOUSE_ALLOW_HTTP_CHARTS"] == "false"
    bucket = resources["ChartBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert bucket["LifecycleConfiguration"]["Rules"][0]["Prefix"] == "incoming/"
    for name in ("APIHandler", "ExecuteOperations", "RefreshRepositories"):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["CHARTHOUSE_CHART_BUCKET"] == {"Ref": "ChartBucket"}, name
        assert variables["CHARTHOUSE_TABLE"] == "charthouse", name  # merged into chalice's own, not replacing it
    gateway = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::GatewayResponse"]
    assert {g["ResponseType"] for g in gateway} == {"DEFAULT_4XX", "DEFAULT_5XX"}
    assert all('"error"' in g["ResponseTemplates"]["application/json"] for g in gateway)


def test_make_package_ships_bytecode_the_runtime_loads(packaged: Path, tmp_path: Path) -> None:
    assert bytecode.packaged_runtimes(packaged) == {bytecode.interpreter_runtime()}  # the runtime is this Python
    assert bytecode.main([str(packaged)]) == 0
    tag = sys.implementation.cache_tag
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
    done = subprocess.run([sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(_pyc("chalicelib/domain/semver.py", tag))


def _pyc(source: str, tag: str) -> str:
    folder, _, name = source.rpartition("/")
    return f"{folder + '/' if folder else ''}__pycache__/{name.removesuffix('.py')}.{tag}.pyc"
