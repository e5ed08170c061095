"""helm-unittest, pinned and built from its Go module, for the harness benchmark only.

`make setup` does not install it: only the benchmark of the harness's render path against
helm-unittest (harness.bench.render) needs it, and its target installs it first. Its go.mod
has a `replace` directive, so `go install module@version` refuses it. Instead the module zip
is fetched with `go mod download` (checked against the checksum database by Go, and here
against the pinned ``h1:`` hash again), unpacked into a writable scratch copy, and built
there with `go build ./cmd/helm-unittest`, its release's version stamped in with the same
ldflags its Makefile uses. The binary goes into ``.tools/go/helm-unittest-<version>/``,
linked from ``.tools/bin/helm-unittest``. It renders with the Helm 3 library its go.mod
requires, in-process (no helm binary is involved).

    python -m harness.toolchain.helm_unittest install    # build it unless built; idempotent
    python -m harness.toolchain.helm_unittest versions   # print what is pinned and installed
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path

from harness.core.proc import CommandError, run
from harness.core.tools import BIN_DIR, SCRATCH_DIR, ToolError
from harness.toolchain import gomodule
from harness.toolchain.gotools import BUILD_TIMEOUT_S, GO_DIR, Installer, build_env, version_table

NAME = "helm-unittest"
MODULE = "github.com/helm-unittest/helm-unittest"
VERSION = "v1.1.2"
# The module zip's hash, as go.sum and the checksum database record it. Bumping VERSION means
# bumping this: `go mod download -json github.com/helm-unittest/helm-unittest@<version>`
# prints it as "Sum".
MODULE_SUM = "h1:r1Ah6Pr3h4kqvd65RN+r0FNTIGrJa+P9rcMyzwHEXXQ="
PACKAGE = "./cmd/helm-unittest"
# Its Makefile stamps the plugin version (plugin.yaml's, without the "v") the same way.
LDFLAGS = f"-s -w -X {MODULE}/internal/build.version={VERSION.removeprefix('v')}"

HOME = GO_DIR / f"{NAME}-{VERSION}"
BINARY = HOME / NAME
LINK = BIN_DIR / NAME

VERSION_TIMEOUT_S = 30.0


def build_info(executable: Path) -> str | None:
    """`go version -m` of a Go binary: its module, dependencies and build settings."""
    go = shutil.which("go")
    if go is None or not executable.exists():
        return None
    try:
        return run([go, "version", "-m", executable], timeout=VERSION_TIMEOUT_S).stdout
    except (CommandError, OSError):
        return None


def version_from_build_info(info: str) -> str | None:
    """The helm-unittest release a binary was built as, from its `go version -m` text.

    helm-unittest has no version command; the version its ldflags stamped in is part of the
    build settings Go records in every binary. None unless the binary is helm-unittest's.
    """
    if not re.search(rf"^\s*path\s+{re.escape(MODULE)}/cmd/helm-unittest\s*$", info, re.M):
        return None
    stamped = re.search(rf"{re.escape(MODULE)}/internal/build\.version=([^\s\"']+)", info)
    return f"v{stamped.group(1).removeprefix('v')}" if stamped else None


def installed_version(executable: Path) -> str | None:
    info = build_info(executable)
    return version_from_build_info(info) if info else None


def download() -> Path:
    """The pinned module's zip in Go's module cache, hash checked."""
    return gomodule.download(MODULE, VERSION, MODULE_SUM)


def unpack(zip_path: Path, destination: Path) -> Path:
    """The module's source, unpacked from its checked zip into `destination`, writable (the
    module cache's own copy is read-only, and `go build` in a module with a `replace` must run
    inside it); returns the module's root."""
    prefix = f"{MODULE}@{VERSION}/"
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.namelist():
            if not member.startswith(prefix) or ".." in Path(member).parts:
                raise ToolError(f"{zip_path}: unexpected member {member!r}")
        archive.extractall(destination)
    return destination / prefix


def build() -> None:
    """Build the pinned release into HOME from a scratch copy of its checked module zip."""
    go = shutil.which("go")
    if go is None:
        raise ToolError(f"cannot build {NAME} {VERSION}: `go` is not on PATH")
    zip_path = download()
    print(f"building {NAME} {VERSION} ...", end=" ", flush=True)
    start = time.monotonic()
    SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
    HOME.mkdir(parents=True, exist_ok=True)
    partial = HOME / f"{NAME}.partial"
    env = {**build_env(HOME, go), "GOTOOLCHAIN": "local"}
    # Always the same folder, emptied first and removed after: Go's build cache then serves
    # a rebuild (it keys on the sources' paths too).
    scratch = SCRATCH_DIR / f"{NAME}-src-{VERSION}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        source = unpack(zip_path, scratch)
        # No -trimpath: with it Go leaves the ldflags, hence the version, out of the build info.
        command = [go, "build", "-ldflags", LDFLAGS, "-o", partial, PACKAGE]
        run(command, env=env, cwd=source, timeout=BUILD_TIMEOUT_S)
    except CommandError as exc:
        print("failed", flush=True)
        partial.unlink(missing_ok=True)
        raise ToolError(f"{exc}\n\nbuilding {NAME} {VERSION} failed (see above)") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    partial.rename(BINARY)
    print(f"done in {time.monotonic() - start:.0f} s", flush=True)


def _link() -> None:
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.unlink(missing_ok=True)
    LINK.symlink_to(os.path.relpath(BINARY, LINK.parent))


def install() -> None:
    """Make .tools/bin/helm-unittest the pinned release, building it only when it is not."""
    if installed_version(LINK) == VERSION:
        print(f"{NAME} {VERSION}: already installed")
        return
    if installed_version(BINARY) != VERSION:
        build()
    if (found := installed_version(BINARY)) != VERSION:
        raise ToolError(f"{BINARY} was built as {found}, not {VERSION}")
    _link()
    print(f"{NAME} {VERSION}: installed at {LINK}")


def version_lines() -> list[str]:
    return version_table([(NAME, VERSION, installed_version(LINK))])


main = Installer("harness.toolchain.helm_unittest", __doc__, install, version_lines).main


if __name__ == "__main__":
    sys.exit(main())
