"""The chart a command installs: this checkout's, a packaged .tgz, or one from a repository
or an OCI registry at a given version.

A chart from a repository or registry is fetched once (`helm pull --untar`) into a folder
that lives as long as the command, and used from there: the render that checks the values,
the upgrade and a hand-over all see the same chart. That is how an operator goes back to an
earlier chart without a git checkout: `--chart oci://… --version 0.6.0`.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from harness.chart.render import CHART_DIR
from harness.core.proc import run
from harness.ops.cli import Refused


def chart_version(chart: Path) -> str:
    """The version a chart directory's Chart.yaml gives."""
    return str(yaml.safe_load((chart / "Chart.yaml").read_text())["version"])


@contextlib.contextmanager
def local_chart(reference: str | None, version: str | None, helm: Path) -> Iterator[Path]:
    """For the `with` block, the chart `reference` names (this checkout's when None) as a
    directory or .tgz helm takes; `version` is the chart version a repository or registry
    is asked for, and must match a chart on disk."""
    path = CHART_DIR if reference is None else Path(reference)
    if path.is_dir():
        if version is not None and version != chart_version(path):
            raise Refused(
                f"--version {version}: the chart in {path} is {chart_version(path)}; to install"
                " another version give --chart REPO/NAME or oci://… with it"
            )
        yield path
        return
    if path.is_file():
        if version is not None:
            raise Refused(f"--version {version}: {path} is a packaged chart of its own version")
        yield path
        return
    if reference is None or "/" not in reference:
        raise Refused(
            f"--chart {reference}: neither a chart directory, nor a .tgz, nor REPO/NAME or"
            " oci://REGISTRY/PATH"
        )
    with tempfile.TemporaryDirectory(prefix="dfa-chart-") as folder:
        pull = [str(helm), "pull", reference, "--untar", "--untardir", folder]
        print(f"fetching chart {reference} {version or '(newest)'}", file=sys.stderr, flush=True)
        run([*pull, *(["--version", version] if version else [])])
        (fetched,) = [entry for entry in Path(folder).iterdir() if entry.is_dir()]
        print(f"chart {fetched.name} {chart_version(fetched)}", file=sys.stderr, flush=True)
        yield fetched
