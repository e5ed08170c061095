"""A pinned Go module's source, fetched with `go mod download` and checked against its pin.

For installers that need a module's files rather than a `go install` of it: the Gateway API
CRDs (harness.toolchain.crds) and helm-unittest, whose go.mod has a `replace` (harness.toolchain
.helm_unittest). Go checks the zip against the checksum database; the installers check it
once more against the `h1:` sum they pin, so a changed module cannot slip in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from harness.core.proc import run
from harness.core.tools import ToolError

DOWNLOAD_TIMEOUT_S = 600.0


def zip_hash(zip_path: Path) -> str:
    """The ``h1:`` hash Go gives a module zip (golang.org/x/mod/sumdb/dirhash.Hash1): SHA-256 of
    the lines "<sha256 of the file>  <name>" for every file, sorted by name."""
    summary = hashlib.sha256()
    with zipfile.ZipFile(zip_path) as archive:
        for name in sorted(archive.namelist()):
            if "\n" in name:
                raise ToolError(f"{zip_path}: a file name holds a newline: {name!r}")
            summary.update(f"{hashlib.sha256(archive.read(name)).hexdigest()}  {name}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode()


def download(
    module: str, version: str, module_sum: str, *, tolerated: re.Pattern[str] | None = None
) -> Path:
    """`go mod download` the module at `version`; its zip in Go's module cache, hash checked.

    `tolerated` matches an error that still leaves a checked zip behind (a go line newer than
    the local Go, when nothing of the module is compiled).
    """
    go = shutil.which("go")
    if go is None:
        raise ToolError(f"cannot fetch {module} {version}: `go` is not on PATH")
    # Never fetch a newer Go toolchain for the module's go line.
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    with tempfile.TemporaryDirectory(prefix="gomodule-") as outside_any_module:
        done = run(
            [go, "mod", "download", "-json", f"{module}@{version}"],
            env=env,
            cwd=outside_any_module,
            check=False,
            timeout=DOWNLOAD_TIMEOUT_S,
        )
    try:
        info = json.loads(done.stdout)
    except json.JSONDecodeError:
        info = {}
    error = info.get("Error") or (done.stderr.strip() if done.returncode else "")
    if error and not (tolerated and tolerated.search(error)):
        raise ToolError(f"go mod download {module}@{version} failed: {error}")
    if info.get("Sum") != module_sum:
        raise ToolError(
            f"{module} {version}: Go reports sum {info.get('Sum')}, pinned {module_sum}"
        )
    zip_path = Path(info.get("Zip") or "")
    if not zip_path.is_file():
        raise ToolError(f"go mod download {module}@{version} left no zip ({error or 'no error'})")
    if (found := zip_hash(zip_path)) != module_sum:
        raise ToolError(f"{zip_path} hashes to {found}, not the pinned {module_sum}")
    return zip_path
