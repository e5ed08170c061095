"""The chart a command installs: this checkout's, a packaged .tgz, or one from a repository
or an OCI registry at a given version.

A chart from a repository or registry is fetched once (`helm pull --untar`) into a folder
that lives as long as the command, and used from there: the render that checks the values,
the upgrade and a hand-over all see the same chart. That is how an operator goes back to an
earlier chart without a git checkout: `--chart oci://… --version 0.6.0`.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.chart.render import CHART_DIR
from harness.core.proc import CommandError, run
from harness.core.tools import tool_path
from harness.ops.cli import Refused
from harness.ops.cosign import oci_name, verify_failure

# The line `helm push` and `helm pull` of an oci:// chart print with the chart's digest.
_DIGEST = re.compile(r"^Digest:\s*(sha256:[0-9a-f]{64})\s*$", re.MULTILINE)


def helm_digest(said: str) -> str | None:
    """The digest in what `helm push` or `helm pull` of an oci:// chart said, if any."""
    found = _DIGEST.search(said)
    return found.group(1) if found else None


def chart_version(chart: Path) -> str:
    """The version a chart directory's Chart.yaml gives."""
    return str(yaml.safe_load((chart / "Chart.yaml").read_text())["version"])


# helm's words for each way a chart fails `--verify`, and what they mean to an operator.
_VERIFY_FAILURES = (
    ("sha256 sum does not match", "it was changed after it was signed"),
    ("signature made by unknown entity", "it is signed by a key that is not in --keyring"),
    ("provenance", "it has no provenance file (.prov): nobody signed it"),
)


@dataclass(frozen=True)
class ChartSource:
    """The chart options of a command: --chart, --version, --verify, --keyring, --plain-http,
    --cosign-key."""

    reference: str | None = None
    version: str | None = None
    verify: bool = False
    keyring: Path | None = None
    plain_http: bool = False
    cosign_key: Path | None = None  # a cosign public key the registry's chart must be signed by

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ChartSource:
        if args.keyring is not None and not args.verify:
            raise Refused(f"--keyring {args.keyring} is read only with --verify; add --verify")
        if args.cosign_key is not None:
            if not str(args.chart or "").startswith("oci://"):
                raise Refused(
                    f"--cosign-key {args.cosign_key}: cosign signs a chart in an OCI registry;"
                    " give --chart oci://…"
                )
            if not args.cosign_key.is_file():
                raise Refused(f"--cosign-key: {args.cosign_key} is not a file")
        return cls(
            args.chart, args.version, args.verify, args.keyring, args.plain_http, args.cosign_key
        )

    def keyring_flags(self) -> list[str]:
        return ["--keyring", str(self.keyring)] if self.keyring else []

    def verify_flags(self) -> list[str]:
        return ["--verify", *self.keyring_flags()] if self.verify else []


def verification_failure(source: ChartSource, what: str, error: CommandError) -> Refused | None:
    """The one line for a chart that fails `--verify`, or None for any other failure."""
    if not source.verify:
        return None
    said = error.stderr + error.stdout
    for words, meaning in _VERIFY_FAILURES:
        if words in said:
            keyring = source.keyring or "the default keyring (~/.gnupg/pubring.gpg)"
            return Refused(
                f"--verify: {what} fails verification against {keyring}: {meaning}; nothing"
                " was installed"
            )
    return None


@contextlib.contextmanager
def local_chart(source: ChartSource, helm: Path) -> Iterator[Path]:
    """For the `with` block, the chart `source` names (this checkout's when no reference) as
    a directory or .tgz helm takes; its version is the one a repository or registry is asked
    for, and must match a chart on disk. With `verify`, a packaged chart must carry a
    provenance file signed by a key of `keyring`."""
    reference, version = source.reference, source.version
    path = CHART_DIR if reference is None else Path(reference)
    if path.is_dir():
        if version is not None and version != chart_version(path):
            raise Refused(
                f"--version {version}: the chart in {path} is {chart_version(path)}; to install"
                " another version give --chart REPO/NAME or oci://… with it"
            )
        if source.verify:
            raise Refused(
                f"--verify: the chart directory {path} carries no signature; give a packaged"
                " chart (.tgz with its .prov next to it) or oci://…"
            )
        yield path
        return
    if path.is_file():
        if version is not None:
            raise Refused(f"--version {version}: {path} is a packaged chart of its own version")
        if source.verify:
            _checked(source, str(path), [str(helm), "verify", str(path), *source.keyring_flags()])
        yield path
        return
    if reference is None or "/" not in reference:
        raise Refused(
            f"--chart {reference}: neither a chart directory, nor a .tgz, nor REPO/NAME or"
            " oci://REGISTRY/PATH"
        )
    cosign = tool_path("cosign") if source.cosign_key else None  # missing: before any pull
    what = f"{reference} {version or '(newest)'}"
    with tempfile.TemporaryDirectory(prefix="dfa-chart-") as folder:
        pull = [str(helm), "pull", reference, "--untar", "--untardir", folder]
        pull += [*(["--version", version] if version else []), *source.verify_flags()]
        pull += ["--plain-http"] if source.plain_http else []
        print(f"fetching chart {what}", file=sys.stderr, flush=True)
        pulled = _checked(source, what, pull)
        (fetched,) = [entry for entry in Path(folder).iterdir() if entry.is_dir()]
        checked = ["its provenance verified" if source.verify else "NOT verified (--verify)"]
        if cosign and source.cosign_key:
            checked.append(_cosign_verified(source, cosign, helm, what, pulled))
        print(
            f"chart {fetched.name} {chart_version(fetched)}, {', '.join(checked)}",
            file=sys.stderr,
            flush=True,
        )
        yield fetched


def _cosign_verified(source: ChartSource, cosign: Path, helm: Path, what: str, pulled: str) -> str:
    """Refused unless the digest helm pulled is signed by `source.cosign_key`."""
    digest = helm_digest(pulled)
    if digest is None or source.reference is None or source.cosign_key is None:
        raise Refused(f"--cosign-key: helm pulled {what} but named no digest to check")
    name = oci_name(source.reference, digest)
    failure = verify_failure(cosign, helm, name, source.cosign_key, source.plain_http)
    if failure:
        raise Refused(
            f"--cosign-key: {what} ({digest}) fails verification against"
            f" {source.cosign_key}: {failure}; nothing was installed"
        )
    return f"its cosign signature verified ({digest})"


def _checked(source: ChartSource, what: str, command: list[str]) -> str:
    """`command`'s output (stdout and stderr); a failed --verify refused in one line."""
    try:
        done = run(command)
    except CommandError as error:
        if (refused := verification_failure(source, what, error)) is not None:
            raise refused from None
        raise
    return done.stdout + done.stderr
