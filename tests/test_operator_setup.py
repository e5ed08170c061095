"""An operator's machine: a copy of the repo with no .tools, their own helm and kubectl on PATH.

The scripts must run after `make setup-scripts` alone (a venv and helm, no Go builds, no
cluster), take helm and kubectl from PATH when .tools has none, and say what is missing
when neither has helm.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.core.proc import run
from harness.core.tools import ROOT, tool_path

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _copy_tracked_files(destination: Path) -> None:
    listed = run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    ).stdout
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def operator_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator's own tools: a folder with helm and kubectl (the pinned builds, copied)."""
    folder = tmp_path_factory.mktemp("operator-bin")
    for name in ("helm", "kubectl"):
        shutil.copy2(tool_path(name).resolve(), folder / name)
    return folder


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("operator") / "dummy-flask-app"
    _copy_tracked_files(folder)
    assert not (folder / ".tools").exists()
    return folder


def sh(checkout: Path, *command: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(
        command,
        cwd=checkout,
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="module")
def set_up(checkout: Path, operator_bin: Path) -> subprocess.CompletedProcess[str]:
    """`make setup-scripts` in the copy, with the operator's tools on PATH."""
    before = sh(checkout, "scripts/deploy", "--dry-run", path=f"{operator_bin}:{SYSTEM_PATH}")
    assert before.returncode == 1
    assert "run `make setup-scripts`" in before.stderr
    return sh(checkout, "make", "setup-scripts", path=f"{operator_bin}:{SYSTEM_PATH}")


def test_setup_scripts_installs_a_venv_and_helm_without_building_the_test_toolchain(
    checkout: Path, set_up: subprocess.CompletedProcess[str]
):
    assert set_up.returncode == 0, set_up.stdout + set_up.stderr
    assert (checkout / ".tools/venv/bin/python").exists()
    assert (checkout / ".tools/bin/helm").exists()
    installed = sorted(p.name for p in (checkout / ".tools/bin").iterdir())
    assert installed == ["helm"], "nothing but helm: no helm3, ct or control plane"


@pytest.mark.parametrize(
    ("command", "printed"),
    [
        (
            ["scripts/deploy", "--dry-run", "--set", "image.tag=1.5.0"],
            "--set image.tag=1.5.0 --install --wait",
        ),
        (
            ["scripts/rollout-plan", "--set", "ipool.enabled=true"],
            "peak IPs:       3 of 3 in pool dummy-flask-app-ipool",
        ),
    ],
    ids=["deploy --dry-run", "rollout-plan"],
)
def test_the_scripts_work_after_setup_scripts(checkout, operator_bin, set_up, command, printed):
    done = sh(checkout, *command, path=f"{operator_bin}:{SYSTEM_PATH}")
    assert done.returncode == 0, done.stderr
    assert printed in done.stdout
    assert "using helm v4.3.1" in done.stderr
    if command[0] == "scripts/deploy":
        assert f"kubectl v1.37.1 ({operator_bin / 'kubectl'})" in done.stderr


@contextlib.contextmanager
def pinned_helm_removed(checkout: Path) -> Iterator[None]:
    """As if .tools held no helm, for the time of the `with` block."""
    pinned = checkout / ".tools/bin/helm"
    target = pinned.readlink()
    pinned.unlink()
    try:
        yield
    finally:
        pinned.symlink_to(target)


def test_scripts_use_the_operators_helm_when_tools_has_none(checkout, operator_bin, set_up):
    with pinned_helm_removed(checkout):
        done = sh(checkout, "scripts/rollout-plan", path=f"{operator_bin}:{SYSTEM_PATH}")
    assert done.returncode == 0, done.stderr
    assert f"using helm v4.3.1 ({operator_bin / 'helm'})" in done.stderr


def test_without_any_helm_the_scripts_say_what_is_missing(checkout, set_up):
    with pinned_helm_removed(checkout):
        done = sh(checkout, "scripts/deploy", "--dry-run", path=SYSTEM_PATH)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "scripts/deploy: error: helm is not on PATH and not in .tools; install helm, "
        "or run `make setup-scripts` for the pinned one"
    )
