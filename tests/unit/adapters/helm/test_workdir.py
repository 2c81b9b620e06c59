"""The work directory of one helm call: private, removed after, an environment with nothing of ours in it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chalicelib.adapters.helm.workdir import Workdir


def test_workdir_is_private_and_removed() -> None:
    with Workdir("apiVersion: v1") as wd:
        path = wd.path
        assert (path.stat().st_mode & 0o777) == 0o700
        assert ((path / "kubeconfig").stat().st_mode & 0o777) == 0o600
        assert (path / "kubeconfig").read_text() == "apiVersion: v1"
        for home in ("cache", "config", "data"):
            assert ((path / home).stat().st_mode & 0o777) == 0o700
    assert not path.exists()


def test_workdir_is_removed_when_the_call_fails() -> None:
    with pytest.raises(RuntimeError), Workdir("") as wd:
        path = wd.path
        raise RuntimeError("helm failed")
    assert not path.exists()


def test_each_call_gets_its_own_directory() -> None:
    with Workdir("") as one, Workdir("") as two:
        assert one.path != two.path


def test_write_makes_owner_only_files_and_never_overwrites() -> None:
    with Workdir("") as wd:
        target = wd.write("values.json", '{"a": 1}')
        assert target.parent == wd.path and (target.stat().st_mode & 0o777) == 0o600
        with pytest.raises(FileExistsError):  # O_EXCL: a planted file or symlink is never written through
            wd.write("values.json", "{}")


def test_env_points_helm_inside_the_directory_and_leaks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("HELM_DRIVER", "memory")
    with Workdir("") as wd:
        env = wd.env()
        assert env["KUBECONFIG"] == str(wd.path / "kubeconfig") and env["HOME"] == str(wd.path)
        assert env["TMPDIR"] == str(wd.path)
        for key in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            assert Path(env[key]).parent == wd.path
        assert "AWS_SECRET_ACCESS_KEY" not in env and "HELM_DRIVER" not in env
        assert "do-not-leak" not in "".join(env.values())
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "do-not-leak"  # the process's own environment is untouched


def test_the_discovery_cache_is_private_and_outlives_work_directories() -> None:
    with Workdir("") as one, Workdir("") as two:
        cache = Path(one.env()["KUBECACHEDIR"])
        assert two.env()["KUBECACHEDIR"] == str(cache) and not cache.is_relative_to(one.path)
    assert cache.is_dir() and (cache.stat().st_mode & 0o777) == 0o700  # kept for the next helm call
