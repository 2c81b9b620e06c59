"""`chalice package` with the merge template yields a template with the table, the queue and the helm layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chalicelib.adapters.store import table_definition
from chalicelib.config import QUEUE_NAME
from deploy.merge_template import merge_template

ROOT = Path(__file__).resolve().parents[2]


def test_packaged_template_has_every_resource(tmp_path: Path) -> None:
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
    resources = json.loads((tmp_path / "out" / "sam.json").read_text())["Resources"]
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
