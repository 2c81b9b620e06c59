"""Ship compiled bytecode in the function package: ``chalice package`` zips sources only, and ``/var/task`` is
read-only, so without this every cold container compiles every module it imports (~0.7 s; docs/PERFORMANCE.md).

    python -m deploy.bytecode DIR      # rewrites DIR/deployment.zip in place

Every ``.py`` in the zip (but ``NOT_COMPILED``) gets ``__pycache__/<module>.<tag>.pyc`` beside it, compiled by ``compileall`` with the
*unchecked-hash* invalidation mode: the interpreter loads it without comparing it with the source's mtime, which
the zip's extraction does not keep exactly, and never tries to rewrite it. A ``.pyc`` only serves the Python minor
that wrote it (its tag, e.g. ``cpython-313``), so it is compiled by the functions' runtime (read from the packaged
template): this interpreter when it is that Python, else that Python found on this machine (``runtime_interpreter``:
on ``PATH`` or installed by pyenv), run on this module. Without one it skips and says so: such a package still
works, it only compiles at import (about 0.5 s of a cold start, docs/PERFORMANCE.md).
"""

from __future__ import annotations

import compileall
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZIP_NAME = "deployment.zip"
# Not compiled: the generated kubernetes API and model classes (~47 MB of bytecode) are imported only by the rare
# paths that build ``CoreV1Api`` (cluster probe, namespaces, recovery), and the asyncio client (~25 MB) never;
# compiled, they would push function + helm layer past 200 MB unzipped (Lambda's hard limit is 250 MB).
NOT_COMPILED = re.compile(r"(^|/)kubernetes/(aio|client/api|client/models)/")


def interpreter_runtime() -> str:
    """The Lambda runtime name of the running interpreter: ``python3.11``."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def runtime_interpreter(runtime: str) -> str | None:
    """An interpreter on this machine that is ``runtime`` (``python3.13``): on ``PATH``, or a pyenv installation
    (pyenv's shims answer only for the versions selected). None when there is none."""
    want = runtime.removeprefix("python")
    found = shutil.which(runtime)
    pyenv = sorted(Path.home().glob(f".pyenv/versions/{want}.*/bin/{runtime}"), reverse=True)  # newest patch first
    for candidate in [*([found] if found else []), *map(str, pyenv)]:
        try:
            done = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip() == want:
            return candidate
    return None


def packaged_runtimes(out_dir: Path) -> set[str]:
    """The runtimes of the packaged functions, from the SAM (``sam.json``) or Terraform (``chalice.tf.json``)
    output of ``chalice package``."""
    found: set[str] = set()
    sam, tf = out_dir / "sam.json", out_dir / "chalice.tf.json"
    if sam.is_file():
        for res in json.loads(sam.read_text()).get("Resources", {}).values():
            runtime = (res.get("Properties") or {}).get("Runtime")
            if res.get("Type") == "AWS::Serverless::Function" and runtime:
                found.add(str(runtime))
    if tf.is_file():
        for fn in json.loads(tf.read_text()).get("resource", {}).get("aws_lambda_function", {}).values():
            if fn.get("runtime"):
                found.add(str(fn["runtime"]))
    return found


def add_bytecode(archive: Path) -> int:
    """Rewrite ``archive`` with a ``.pyc`` for every ``.py`` in it but ``NOT_COMPILED`` (entries, order and modes kept; stale
    ``__pycache__`` entries dropped). Returns the number of modules compiled. Raises ``SystemExit`` when a module
    does not compile (it would fail at import anyway)."""
    with tempfile.TemporaryDirectory(prefix="bytecode-") as tmp:
        root = Path(tmp) / "pkg"
        with zipfile.ZipFile(archive) as src:
            infos = [i for i in src.infolist() if "__pycache__/" not in i.filename]
            for info in infos:
                src.extract(info, root)
        sources = [i.filename for i in infos if i.filename.endswith(".py") and not NOT_COMPILED.search(i.filename)]
        ok = compileall.compile_dir(
            str(root),
            rx=NOT_COMPILED,
            quiet=2,
            workers=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            stripdir=str(root),  # tracebacks name the path inside the package, as the source import would
            prependdir="/var/task",
        )
        if not ok:
            raise SystemExit(f"some modules in {archive} do not compile")
        rebuilt = Path(tmp) / ZIP_NAME
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as dst, zipfile.ZipFile(archive) as src:
            for info in infos:
                dst.writestr(info, src.read(info.filename), zipfile.ZIP_DEFLATED)
            for pyc in sorted(root.rglob("__pycache__/*.pyc")):
                name = pyc.relative_to(root).as_posix()
                entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                entry.external_attr = 0o644 << 16
                dst.writestr(entry, pyc.read_bytes(), zipfile.ZIP_DEFLATED)
        shutil.move(rebuilt, archive)
    return len(sources)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m deploy.bytecode DIR", file=sys.stderr)
        return 2
    out_dir = Path(argv[0])
    runtimes, mine = packaged_runtimes(out_dir), interpreter_runtime()
    other = runtime_interpreter(next(iter(runtimes))) if len(runtimes) == 1 and runtimes != {mine} else None
    if other:  # compiled by the runtime's own Python: this module needs the standard library only
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run([other, "-m", "deploy.bytecode", str(out_dir)], cwd=ROOT, env=env).returncode
    if runtimes and runtimes != {mine}:
        # a .pyc of another minor is never loaded there: shipping it would only add megabytes
        print(
            f"deploy.bytecode: skipped: the functions run {', '.join(sorted(runtimes))} but this is {mine}; a cold "
            "container compiles what it imports (package with that Python to ship bytecode)",
            file=sys.stderr,
        )
        return 0
    count = add_bytecode(out_dir / ZIP_NAME)
    print(f"deploy.bytecode: {count} modules compiled for {mine} ({sys.implementation.cache_tag}) into {ZIP_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
