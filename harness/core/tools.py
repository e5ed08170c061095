"""Where the project's tools are: the pinned ones in .tools, else (helm, kubectl) on PATH.

`make setup` (everything the tests need) and `make setup-scripts` (what the operator scripts
need) install into the git-ignored .tools folder; harness.toolchain is the installer. The
operator's own helm and kubectl on PATH serve when .tools has none.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = ROOT / ".tools"
BIN_DIR = TOOLS_DIR / "bin"
VENV_BIN = TOOLS_DIR / "venv" / "bin"
SCRATCH_DIR = TOOLS_DIR / "scratch"
# Tools an operator may bring: found on PATH when .tools has none; how to get the pinned one.
FROM_PATH = {
    "helm": "make setup-scripts",
    "kubectl": "make setup-scripts",
    "cosign": "make setup-scripts && .tools/venv/bin/python -m harness.toolchain.gotools "
    "install cosign",
}


class ToolError(Exception):
    """A tool is missing or unusable; the message says what to do."""


def tool_path(name: str) -> Path:
    """The executable `name`: .tools/bin, .tools/venv/bin, then (helm, kubectl) PATH."""
    for folder in (BIN_DIR, VENV_BIN):
        candidate = folder / name
        if candidate.exists():
            return candidate
    if name in FROM_PATH and (found := shutil.which(name)):
        return Path(found)
    if name in FROM_PATH:
        raise ToolError(
            f"{name} is not on PATH and not in .tools; install {name}, "
            f"or run `{FROM_PATH[name]}` for the pinned one"
        )
    raise ToolError(f"{name} is not installed in .tools; run `make setup`")


def tool_env(helm: str = "helm") -> dict[str, str]:
    """os.environ with .tools/bin and .tools/venv/bin first on PATH.

    `helm` picks which installed Helm answers to the plain name `helm` (ct calls it by that
    name): pass "helm3" to put a folder holding Helm 3 as `helm` in front.
    """
    dirs = [str(BIN_DIR), str(VENV_BIN)]
    if helm != "helm":
        dirs.insert(0, str(_as_helm(helm)))
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([*dirs, env.get("PATH", "")])
    return env


def _as_helm(name: str) -> Path:
    """A folder in which `helm` is the installed tool `name`."""
    folder = SCRATCH_DIR / "as-helm" / name
    link = folder / "helm"
    target = tool_path(name).resolve()
    if not (link.is_symlink() and link.resolve() == target):
        folder.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    return folder
