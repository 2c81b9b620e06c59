"""Cold start and size: what a fresh Lambda container pays before it can serve, and what it ships.

Every function Chalice packages has ``app.<handler>`` as its handler, so the API, the SQS worker and the scheduled
sweep all import ``app.py`` (and through it every blueprint). Measured per path, each in a fresh interpreter, several
runs:

* ``import app`` and, separately, each blueprint module alone (what a split package would cost);
* the first call's lazy work on each path: building the per-container dependencies (boto3 session, DynamoDB
  resource, Secrets Manager and SQS clients; no network), and the ``kubernetes`` client that only recovery imports;
* from the deployment package itself, unzipped into a read-only directory and imported with ``python -S`` (the
  package and the standard library only, no bytecode written: Lambda's /var/task is read-only), twice: as
  ``chalice package`` zips it (sources only: every cold start compiles every module it imports) and with the
  bytecode ``make package`` adds (``deploy/bytecode.py``), alternating;
* which heavy modules each path has loaded (``kubernetes``, ``yaml`` and its C extension, ``boto3``/``botocore``),
  and the slowest imports by cumulative time from ``python -X importtime``.

Sizes: ``chalice package --stage dev`` into a temp dir (the same command ``make package`` runs, without touching
``dist/``), the deployment zip with and without bytecode and its unzipped size by top-level package, and the helm
layer zips, against Lambda's 250 MB limit on a function plus its layers, unzipped (and the 200 MB we aim for).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.bench_releases import HELMS
from bench.report import Series
from deploy.bytecode import runtime_interpreter
from deploy.stack import RUNTIME
from devstack.stack import ROOT

LAMBDA_UNZIPPED_LIMIT = 250 * 1000 * 1000  # bytes: function code plus every layer, unzipped (AWS: 250 MB)
HEAVY = ("kubernetes", "yaml", "_yaml", "boto3", "botocore", "chalice", "urllib3", "dateutil")

# The API handler called as Lambda calls it, with an API Gateway proxy event for a route that touches no cluster
FIRST_REQUEST = """
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "api_handler", 1024, "cold-start"
    def get_remaining_time_in_millis(self): return 28000
request = {"resourcePath": "/v1/health", "httpMethod": "GET", "path": "/api/v1/health", "stage": "api",
           "requestId": "cold-start", "identity": {"sourceIp": "127.0.0.1"}}
event = {"resource": "/v1/health", "path": "/v1/health", "httpMethod": "GET", "headers": {"Host": "localhost"},
         "multiValueHeaders": {"Host": ["localhost"]}, "queryStringParameters": None,
         "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
         "requestContext": request, "body": None, "isBase64Encoded": False}
answer = app.app(event, Context())
assert answer["statusCode"] == 200 and '"helm_version": "v' in answer["body"].replace('":"', '": "'), answer
"""

# (label, module imported, first-call code run after it, the Lambda handler it stands for)
PATHS: tuple[tuple[str, str, str, str], ...] = (
    ("app (every handler)", "app", "", "app.app / app.execute_operations / app.sweep_stale_leases"),
    ("API route module", "chalicelib.api.releases", "", "chalicelib/api/releases.py alone"),
    ("SQS worker module", "chalicelib.api.worker", "", "chalicelib/api/worker.py alone"),
    ("scheduled events module", "chalicelib.api.events", "", "chalicelib/api/events.py alone"),
    (
        "app + first call: bootstrap.get()",
        "app",
        "from chalicelib import bootstrap; bootstrap.get()",
        "what the first API request or worker message builds",
    ),
    (
        "app + worker read-back: kubernetes ApiClient",
        "app",
        "import kubernetes.config, kubernetes.client.api_client",
        "a worker's first operation (release_secrets.read)",
    ),
    (
        "app + first request: GET /v1/health",
        "app",
        FIRST_REQUEST,
        "a cold API container's first request, through the handler (no cluster, no AWS call; helm version once)",
    ),
    (
        "app + recovery: kubernetes CoreV1Api",
        "app",
        "from kubernetes import client, config; client.CoreV1Api",
        "unlock/recovery, cluster probe, namespaces (client.py)",
    ),
)

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import {module}
t1 = time.perf_counter()
{first_call}
t2 = time.perf_counter()
heavy = {heavy!r}
loaded = sorted(h for h in heavy if h in sys.modules)
yaml_c = bool(getattr(sys.modules.get("yaml"), "__with_libyaml__", False))
print(json.dumps({{"import_s": t1 - t0, "first_call_s": t2 - t1, "loaded": loaded, "yaml_libyaml": yaml_c,
                  "modules": len(sys.modules)}}))
"""


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_", "CHARTHOUSE_"))}
    env.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "CHARTHOUSE_QUEUE_URL": "http://127.0.0.1:9/queue",
            "CHARTHOUSE_HELM_BINARY": str(HELMS[4]),  # the helm layer's binary (/opt/helm/helm on Lambda)
            "PYTHONPATH": str(root),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def runtime_python() -> str:
    """The functions' runtime Python when this machine has it (``deploy.bytecode.runtime_interpreter``), which then
    packages, compiles and imports as Lambda would; else this interpreter."""
    return runtime_interpreter(RUNTIME) or sys.executable


def one_run(
    module: str, first_call: str, root: Path, importtime: bool = False, python: str = sys.executable
) -> tuple[dict[str, Any], str]:
    """One fresh interpreter on the unzipped package ``root``: (measurements, stderr). ``-S``: no site-packages,
    so only the package and the standard library are importable, as on Lambda."""
    code = CHILD.format(module=module, first_call=first_call or "pass", heavy=HEAVY)
    argv = [python, "-S", *(["-X", "importtime"] if importtime else []), "-c", code]
    done = subprocess.run(argv, cwd=root, env=_env(root), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def slowest_imports(importtime_stderr: str, top: int = 8, skip: tuple[str, ...] = ()) -> list[tuple[str, float]]:
    """Top-level packages by cumulative import time (seconds) from ``-X importtime`` output, except ``skip``."""
    best: dict[str, float] = {}
    for line in importtime_stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        name = parts[2].strip()
        root = name.split(".")[0]
        if root in skip:
            continue
        best[root] = max(best.get(root, 0.0), int(parts[1]) / 1e6)
    return sorted(best.items(), key=lambda kv: -kv[1])[:top]


def measure_imports(runs: int, shipped: Path, plain: Path, python: str = sys.executable) -> list[dict[str, Any]]:
    """Every path: import and first-call seconds from the package with bytecode (``shipped``) and without it
    (``plain``), alternating, n = ``runs`` each."""
    out = []
    for label, module, first_call, handler in PATHS:
        cached_imp, cached_first, cold_imp, cold_first = Series(), Series(), Series(), Series()
        info: dict[str, Any] = {}
        for _ in range(runs):
            info, _ = one_run(module, first_call, shipped, python=python)
            cached_imp.add(info["import_s"])
            cached_first.add(info["first_call_s"])
            cold, _ = one_run(module, first_call, plain, python=python)
            cold_imp.add(cold["import_s"])
            cold_first.add(cold["first_call_s"])
        _, stderr = one_run(module, first_call, shipped, importtime=True, python=python)
        out.append(
            {
                "path": label,
                "module": module,
                "first_call": first_call,
                "handler": handler,
                "import_cached": cached_imp.summary(),
                "first_call_cached": cached_first.summary(),
                "import_no_pyc": cold_imp.summary(),
                "first_call_no_pyc": cold_first.summary(),
                "heavy_loaded": info.get("loaded", []),
                "yaml_libyaml": info.get("yaml_libyaml"),
                "modules_loaded": info.get("modules"),
                "slowest_imports": slowest_imports(stderr, skip=("app", "chalicelib")),
            }
        )
    return out


def unzip_read_only(archive: Path, into: Path) -> Path:
    """``archive`` unzipped into ``into``, every file and directory read-only (as /var/task)."""
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(into)
    for path in [into, *into.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return into


def _writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


# ---------------------------------------------------------------- sizes


def zip_sizes(path: Path, depth: int = 1) -> dict[str, Any]:
    """Compressed and unzipped bytes of a zip, and unzipped bytes per top-level entry (the biggest first)."""
    per: dict[str, int] = defaultdict(int)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    for info in infos:
        per["/".join(info.filename.split("/")[:depth])] += info.file_size
    unzipped = sum(i.file_size for i in infos)
    top = sorted(per.items(), key=lambda kv: -kv[1])[:10]
    return {
        "zip_bytes": path.stat().st_size,
        "unzipped_bytes": unzipped,
        "files": len(infos),
        "largest_unzipped": [{"entry": k, "bytes": v} for k, v in top],
    }


def package(tmp: Path, python: str) -> dict[str, Any]:
    """``chalice package --stage dev`` with the merge template, into ``tmp`` (not dist/); when ``python`` is the
    runtime's, its dependencies rebuilt for it as ``make package`` does (``deploy.runtime``)."""
    merge = tmp / "merge.json"
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    steps = [
        [sys.executable, "-m", "deploy.merge_template", str(merge), "dev"],
        [
            str(Path(sys.executable).parent / "chalice"),
            "package",
            "--stage",
            "dev",
            "--merge-template",
            str(merge),
            str(tmp / "out"),
        ],
    ]
    if python != sys.executable:
        steps.append([sys.executable, "-m", "deploy.runtime", str(tmp / "out")])
    for argv in steps:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            return {"error": f"{' '.join(argv[:3])} failed: {done.stderr.strip()[-400:]}"}
    return zip_sizes(tmp / "out" / "deployment.zip")


def measure(runs: int) -> dict[str, Any]:
    """Package once (``chalice package``, then ``deploy.bytecode`` on a copy), then imports and sizes: with the
    runtime's Python when this machine has it (``runtime_python``)."""
    build = ROOT / "layers" / "helm" / "build"
    python = runtime_python()
    with tempfile.TemporaryDirectory(prefix="bench-package-") as name:
        tmp = Path(name)
        plain_zip = package(tmp, python)
        if "error" in plain_zip:
            raise RuntimeError(plain_zip["error"])
        shipped = tmp / "shipped.zip"
        shutil.copy(tmp / "out" / "deployment.zip", shipped)
        compile_with = "import sys; from pathlib import Path; from deploy.bytecode import add_bytecode; "
        compile_with += "add_bytecode(Path(sys.argv[1]))"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([python, "-c", compile_with, str(shipped)], cwd=ROOT, env=env, check=True, timeout=900)
        roots = (
            unzip_read_only(shipped, tmp / "shipped"),
            unzip_read_only(tmp / "out" / "deployment.zip", tmp / "plain"),
        )
        try:
            imports = measure_imports(runs, *roots, python=python)
        finally:
            for root in roots:
                _writable(root)  # so that the temp directory can be removed
        out: dict[str, Any] = {"deployment": zip_sizes(shipped), "deployment_without_bytecode": plain_zip}
    for layer in ("helm-layer.zip", "helm3-layer.zip"):
        if (build / layer).exists():
            out[layer] = zip_sizes(build / layer, depth=2)
    code = out["deployment"].get("unzipped_bytes", 0)
    helm4 = out.get("helm-layer.zip", {}).get("unzipped_bytes", 0)
    out["limit_unzipped_bytes"] = LAMBDA_UNZIPPED_LIMIT
    out["function_plus_helm4_layer_unzipped_bytes"] = code + helm4
    out["headroom_bytes"] = LAMBDA_UNZIPPED_LIMIT - code - helm4
    version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()
    return {"runs": runs, "python": version, "imports": imports, "sizes": out}


# ---------------------------------------------------------------- tables


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def render(result: dict[str, Any], md: bool = False) -> str:
    from bench.report import block, ms

    header = [
        "path",
        "import p50 (.pyc shipped)",
        "max",
        "import p50 (sources only)",
        "first call p50 (.pyc)",
        "sources only",
        "modules",
        "heavy modules loaded",
        "slowest imports (cumulative ms)",
    ]
    rows = []
    for r in result["imports"]:
        slow = ", ".join(f"{name} {s * 1000:.0f}" for name, s in r["slowest_imports"][:4])
        first = r["first_call"] != ""
        rows.append(
            [
                r["path"],
                ms(r["import_cached"]["p50_s"]),
                ms(r["import_cached"]["max_s"]),
                ms(r["import_no_pyc"]["p50_s"]),
                ms(r["first_call_cached"]["p50_s"]) if first else "-",
                ms(r["first_call_no_pyc"]["p50_s"]) if first else "-",
                str(r["modules_loaded"]),
                " ".join(r["heavy_loaded"]) + (" (libyaml)" if r["yaml_libyaml"] else ""),
                slow,
            ]
        )
    sz = result["sizes"]
    size_rows = []
    for key, label in (
        ("deployment", "deployment.zip with bytecode (make package)"),
        ("deployment_without_bytecode", "deployment.zip as chalice package zips it"),
    ):
        dep = sz.get(key)
        if dep:
            biggest = ", ".join(f"{e['entry']} {_mb(e['bytes'])}" for e in dep["largest_unzipped"][:5])
            size_rows.append([label, _mb(dep["zip_bytes"]), _mb(dep["unzipped_bytes"]), biggest])
    for name in ("helm-layer.zip", "helm3-layer.zip"):
        if name in sz:
            size_rows.append(
                [
                    f"layers/helm/build/{name}",
                    _mb(sz[name]["zip_bytes"]),
                    _mb(sz[name]["unzipped_bytes"]),
                    "helm binary",
                ]
            )
    size_rows.append(
        [
            "function + helm 4 layer, unzipped, vs Lambda's 250 MB",
            "",
            _mb(sz["function_plus_helm4_layer_unzipped_bytes"]),
            f"headroom {_mb(sz['headroom_bytes'])}",
        ]
    )
    return "\n\n".join(
        [
            block(
                f"3. Cold start: import time in a fresh {result.get('python', 'interpreter')} (ms, n={result['runs']} each)",
                header,
                rows,
                md,
            ),
            block("3b. Sizes", ["artifact", "zip", "unzipped", "largest parts (unzipped)"], size_rows, md),
        ]
    )
