"""Rebuild the function package's dependencies for the Lambda runtime (``deploy.stack.RUNTIME``), whatever Python
runs ``chalice package``.

Chalice picks the runtime from the interpreter that packages (python3.11 here) and its cross-version download
falls back to building sources, so ``deployment.zip`` would carry ``cpython-311`` extension modules (PyYAML,
pydantic-core, aiohttp...) that python3.13 cannot load. This keeps Chalice's own entries (``app.py``,
``chalicelib/``, ``chalice/``) and replaces every dependency with pip's binary wheels for the runtime
(``pip install --target --platform manylinux2014_x86_64 --python-version 3.13 --only-binary=:all:``), resolved
from requirements.txt alone. The result is cached per runtime and requirements.txt under
``~/.cache/charthouse/lambda-deps`` (``CHARTHOUSE_CACHE``), so PyPI is asked once.

    python -m deploy.runtime DIR      # rewrites DIR/deployment.zip in place
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from deploy.stack import RUNTIME

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
ZIP_NAME = "deployment.zip"
APP_ROOTS = ("app.py", "chalicelib/", "chalice/")  # what Chalice adds that is not a dependency
# Not shipped: the kubernetes client's asyncio half (kubernetes/aio) and the aiohttp family only it needs. No path
# imports them (the app uses the synchronous client; tests/functional/test_package.py imports every path without
# them), and they are ~40 MB of the 250 MB a function and its layers may unzip to.
NOT_SHIPPED = re.compile(
    r"^(kubernetes/aio/|(aiohttp|aiohttp_retry|aiosignal|aiohappyeyeballs|frozenlist|multidict|propcache|yarl)"
    r"(/|-[^/]*\.dist-info/))"
)
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")  # glibc of AL2023: 2.34


def version(runtime: str = RUNTIME) -> str:
    """``python3.13`` -> ``3.13``."""
    return runtime.removeprefix("python")


def cache_dir() -> Path:
    base = Path(os.environ.get("CHARTHOUSE_CACHE") or Path.home() / ".cache" / "charthouse")
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    return base / "lambda-deps" / f"{RUNTIME}-{digest}"


def dependencies() -> Path:
    """The site-packages of requirements.txt for the runtime (built once, then cached)."""
    target = cache_dir()
    if (target / ".complete").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="deps-", dir=target.parent))
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile"]
    cmd += ["--target", str(tmp), *platforms, "--implementation", "cp", "--python-version", version()]
    cmd += ["--only-binary=:all:", "-r", str(REQUIREMENTS)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit(f"deploy.runtime: pip could not fetch wheels for {RUNTIME}:\n{done.stderr[-2000:]}")
    shutil.rmtree(tmp / "bin", ignore_errors=True)
    (tmp / ".complete").write_text(RUNTIME)
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def retarget(archive: Path, deps: Path) -> int:
    """Rewrite ``archive``: Chalice's own entries, then every file of ``deps``. Returns the dependency file count."""
    count = 0
    rebuilt = archive.with_suffix(".tmp")
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename.startswith(APP_ROOTS):
                dst.writestr(info, src.read(info.filename), zipfile.ZIP_DEFLATED)
        for path in sorted(deps.rglob("*")):
            rel = path.relative_to(deps).as_posix()
            if path.is_dir() or "__pycache__/" in rel or rel == ".complete" or NOT_SHIPPED.match(rel):
                continue
            entry = zipfile.ZipInfo(rel, date_time=(2020, 1, 1, 0, 0, 0))
            entry.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            dst.writestr(entry, path.read_bytes(), zipfile.ZIP_DEFLATED)
            count += 1
    rebuilt.replace(archive)
    return count


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m deploy.runtime DIR", file=sys.stderr)
        return 2
    count = retarget(Path(argv[0]) / ZIP_NAME, dependencies())
    print(f"deploy.runtime: {count} dependency files for {RUNTIME} in {ZIP_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
