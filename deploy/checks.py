"""Offline checks of a packaged stage: ``terraform init -backend=false`` + ``terraform validate`` against a local
provider mirror, and checkov on a SAM template or a Terraform directory.

    python -m deploy.checks terraform DIR      # skipped, with the reason, where terraform or the mirror is absent
    python -m deploy.checks checkov PATH       # fails on any failed check (skips are written in the template)

Terraform: ``CHARTHOUSE_TERRAFORM`` (default: ``terraform`` on PATH) and ``CHARTHOUSE_TF_MIRROR`` (default
``/opt/tf-plugins``, a ``filesystem_mirror`` holding hashicorp/aws 5.x). checkov runs with ``--skip-download``
(no call to its vendor) and only the built-in checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MIRROR = Path(os.environ.get("CHARTHOUSE_TF_MIRROR", "/opt/tf-plugins"))
ROOT = Path(__file__).resolve().parents[1]
CHECKOV = Path(os.environ.get("CHARTHOUSE_CHECKOV") or ROOT / ".venv-checkov" / "bin" / "checkov")


def terraform_binary() -> str | None:
    return os.environ.get("CHARTHOUSE_TERRAFORM") or shutil.which("terraform")


def terraform_unavailable() -> str | None:
    """Why ``terraform validate`` cannot run here, or None."""
    if not terraform_binary():
        return "terraform is not installed (set CHARTHOUSE_TERRAFORM or put it on PATH)"
    if not (MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        return f"no AWS provider in the mirror {MIRROR} (set CHARTHOUSE_TF_MIRROR)"
    return None


def terraform_validate(directory: Path) -> subprocess.CompletedProcess[str]:
    """init (no backend, providers from the mirror only) and validate, in a copy of the template alone."""
    with tempfile.TemporaryDirectory(prefix="tf-") as tmp:
        work = Path(tmp) / "stage"
        work.mkdir()
        shutil.copy(directory / "chalice.tf.json", work)
        for name in ("deployment.zip", "helm-layer.zip"):
            if (directory / name).is_file():
                (work / name).symlink_to((directory / name).resolve())
        return _init_and_validate(work, Path(tmp))


def terraform_validate_configuration(tree: Path, entry: str) -> subprocess.CompletedProcess[str]:
    """init and validate the root module ``entry`` of a copy of ``tree`` (its modules referenced by relative
    paths inside the tree): the modules users copy (iac/terraform)."""
    with tempfile.TemporaryDirectory(prefix="tf-") as tmp:
        shutil.copytree(tree, Path(tmp) / "tree", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
        return _init_and_validate(Path(tmp) / "tree" / entry, Path(tmp))


def _init_and_validate(work: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    binary = terraform_binary()
    assert binary
    rc = tmp / "terraformrc"
    rc.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n  }}\n  direct {{\n'
        '    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n'
    )
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(rc),
        "TF_IN_AUTOMATION": "1",
        "TF_DATA_DIR": str(tmp / "data"),
        "CHECKPOINT_DISABLE": "1",
    }
    init = subprocess.run(
        [binary, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if init.returncode != 0:
        return init
    return subprocess.run(
        [binary, "validate", "-no-color", "-json"], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )


def checkov(path: Path) -> tuple[int, dict[str, object]]:
    """checkov's exit code and its summary (passed, failed, skipped) on a SAM template, a packaged Terraform
    directory, or a directory of Terraform modules (``.tf`` files: iac/terraform)."""
    if path.is_dir() and not (path / "chalice.tf.json").is_file():
        return _checkov(path, "terraform", [], directory=True)
    if path.is_dir():
        # checkov's Terraform JSON parser fails on the ``terraform`` block (it takes its settings for blocks):
        # it scans a copy without it; the block holds version pins only, which no check reads
        with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
            from deploy.terraform import skipped_checks

            tf = json.loads((path / "chalice.tf.json").read_text())
            tf.pop("terraform", None)
            (Path(tmp) / "chalice.tf.json").write_text(json.dumps(tf, indent=2))
            return _checkov(Path(tmp) / "chalice.tf.json", "terraform_json", sorted(skipped_checks(tf)))
    return _checkov(path, "cloudformation", [])


def _checkov(path: Path, framework: str, skips: list[str], directory: bool = False) -> tuple[int, dict[str, object]]:
    target = ["-d" if directory else "-f", str(path), *(["--skip-check", ",".join(skips)] if skips else [])]
    cmd = [str(CHECKOV), *target, "--framework", framework, "--skip-download", "--quiet", "-o", "json"]
    cmd += ["--compact"]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"checkov gave no report (exit {done.returncode}):\n{done.stderr[-2000:]}") from None
    reports = report if isinstance(report, list) else [report]
    errors = sum(r.get("summary", {}).get("parsing_errors", 0) for r in reports)
    if errors or not (directory or any(r.get("summary", {}).get("passed") for r in reports)):
        raise SystemExit(f"checkov could not parse {path} ({errors} parsing errors): nothing was checked")
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    summary: dict[str, object] = {
        "passed": sum(r.get("summary", {}).get("passed", 0) for r in reports),
        "skipped": sum(r.get("summary", {}).get("skipped", 0) for r in reports),
        "failed": [f"{c['check_id']} {c.get('resource', '')}: {c.get('check_name', '')}" for c in failed],
    }
    return (1 if failed else 0), summary


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("terraform", "checkov"):
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[1])
    if argv[0] == "terraform":
        reason = terraform_unavailable()
        if reason:
            print(f"deploy.checks: terraform validate SKIPPED: {reason}", file=sys.stderr)
            return 0
        done = terraform_validate(path)
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n")
        return done.returncode
    code, summary = checkov(path)
    print(json.dumps(summary, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
