"""The Gateway API CRDs the chart's tests validate its HTTPRoute against, pinned, offline.

The schema of a custom resource lives in its CustomResourceDefinition, not in the built-in
schemas the other objects are checked with (kubernetes-validate). The CRDs come from the Go
module ``sigs.k8s.io/gateway-api`` at a pinned version, through `go mod download`, like the
Go tools: the module zip is checked against the checksum database by Go, and here against the
pinned ``h1:`` hash again before anything is taken out of it. Only the standard-channel files
the tests need are copied, into ``.tools/crds/gateway-api-<version>/``.

    python -m harness.toolchain.crds install    # copy what is missing; idempotent
    python -m harness.toolchain.crds versions   # print what is installed
"""

from __future__ import annotations

import re
import sys
import time
import zipfile
from pathlib import Path

import yaml

from harness.core.tools import TOOLS_DIR, ToolError
from harness.toolchain import gomodule
from harness.toolchain.gotools import Installer, version_table

MODULE = "sigs.k8s.io/gateway-api"
VERSION = "v1.7.0"
# The module zip's hash, as go.sum and the checksum database record it. Bumping VERSION means
# bumping this: `go mod download -json sigs.k8s.io/gateway-api@<version>` prints it as "Sum".
MODULE_SUM = "h1:duVnm7nO6oXfMMUWfcDoBph47CYR/ME3NGxccOVglaY="
CHANNEL = "standard"
FILES = ("gateway.networking.k8s.io_httproutes.yaml",)

CRDS_DIR = TOOLS_DIR / "crds"
HOME = CRDS_DIR / f"gateway-api-{VERSION}"

# Each CRD file says which release and channel it belongs to.
_BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version"
_CHANNEL = "gateway.networking.k8s.io/channel"
# Go refuses a module whose go.mod asks for a newer Go than the one running; the zip has been
# downloaded and verified by then. That matters for compiling the module, not for reading YAML.
_GO_TOO_OLD = re.compile(r"requires go >= \S+ \(running go \S+")


def installed_version(path: Path) -> str | None:
    """The release the CRD file at `path` belongs to, "(<channel> channel)" appended when it is
    not the pinned channel; None when it is missing or not a Gateway API CRD."""
    try:
        crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
        return None
    annotations = (crd.get("metadata") or {}).get("annotations") or {}
    version, channel = annotations.get(_BUNDLE_VERSION), annotations.get(_CHANNEL)
    if version is None or channel == CHANNEL:
        return version
    return f"{version} ({channel} channel)"


def is_installed() -> bool:
    return all(installed_version(HOME / name) == VERSION for name in FILES)


def crd_files() -> list[Path]:
    """The installed CRD files, for tests to validate custom resources against."""
    if not is_installed():
        raise ToolError(
            f"the Gateway API {VERSION} CRDs are not installed in {HOME}; run `make setup`"
        )
    return [HOME / name for name in FILES]


def download() -> Path:
    """The pinned module's zip in Go's module cache, hash checked. v1.7.0's go line asks for a
    newer Go than the local one; nothing is compiled, so that error alone is let pass."""
    return gomodule.download(MODULE, VERSION, MODULE_SUM, tolerated=_GO_TOO_OLD)


def install() -> None:
    """Put the pinned standard-channel CRD files into HOME."""
    if is_installed():
        print(f"gateway-api CRDs {VERSION}: already installed")
        return
    start = time.monotonic()
    zip_path = download()
    HOME.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        for name in FILES:
            member = f"{MODULE}@{VERSION}/config/crd/{CHANNEL}/{name}"
            try:
                data = archive.read(member)
            except KeyError:
                raise ToolError(f"{zip_path} has no {member}") from None
            partial = HOME / f"{name}.partial"
            partial.write_bytes(data)
            partial.rename(HOME / name)
    if not is_installed():
        found = {name: installed_version(HOME / name) for name in FILES}
        raise ToolError(f"the copied CRDs report {found}, not {VERSION} ({CHANNEL} channel)")
    print(f"gateway-api CRDs {VERSION}: installed in {HOME} in {time.monotonic() - start:.1f} s")


def version_lines() -> list[str]:
    """One line per CRD file: "gateway-api CRD httproutes", the pin, what is installed."""
    rows = []
    for name in FILES:
        kind = name.split("_", 1)[-1].removesuffix(".yaml")
        rows.append((f"gateway-api CRD {kind}", VERSION, installed_version(HOME / name)))
    return version_table(rows)


main = Installer("harness.toolchain.crds", __doc__, install, version_lines).main


if __name__ == "__main__":
    sys.exit(main())
