"""The chart as it was in git history, to test upgrades from what is already installed.

The baseline for an upgrade test is, in order of preference:

1. the newest commit whose Chart.yaml ``version`` differs from the working tree's: the
   previous released version (once the chart is bumped, the last commit of the old version);
2. else the newest commit whose chart folder differs from the working tree's: while every
   commit carries the same version (only 0.1.0 so far), that is HEAD when the working tree
   changes the chart, otherwise the state before the last commit that changed it;
3. else None: the chart has one state only, nothing to upgrade from.

A shallow clone (CI checks out one commit) is deepened from its origin first: with one commit
the rules above would find nothing, or HEAD where the real previous version lies deeper.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.chart.render import CHART_DIR
from harness.core.proc import run
from harness.core.tools import ROOT

GIT_TIMEOUT_S = 60.0
# Fetching the whole history of a fresh CI clone; bounded so a dead network fails the test.
UNSHALLOW_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class PastChart:
    commit: str
    version: str
    why: str  # which rule chose it, for test output

    def __str__(self) -> str:
        return f"chart {self.version} at {self.commit[:12]} ({self.why})"


@dataclass(frozen=True)
class ChartHistory:
    """The history of the chart folder `chart` (relative to `repo`) in git."""

    repo: Path = ROOT
    chart: str = CHART_DIR.relative_to(ROOT).as_posix()

    def _git(
        self, *args: str, check: bool = True, timeout: float = GIT_TIMEOUT_S
    ) -> tuple[int, str]:
        # A remote asking for credentials fails at once instead of waiting for a terminal.
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        done = run(["git", "-C", str(self.repo), *args], env=env, check=check, timeout=timeout)
        return done.returncode, done.stdout

    def is_shallow(self) -> bool:
        return self._git("rev-parse", "--is-shallow-repository")[1].strip() == "true"

    def deepen(self) -> None:
        """Fetch the history a shallow clone lacks from its origin; a no-op on a full clone."""
        if self.is_shallow():
            self._git("fetch", "--quiet", "--unshallow", "origin", timeout=UNSHALLOW_TIMEOUT_S)

    def version_at(self, commit: str) -> str | None:
        code, text = self._git("show", f"{commit}:{self.chart}/Chart.yaml", check=False)
        return str(yaml.safe_load(text)["version"]) if code == 0 else None

    def working_version(self) -> str:
        return str(yaml.safe_load((self.repo / self.chart / "Chart.yaml").read_text())["version"])

    def differs_from_working_tree(self, commit: str) -> bool:
        code, _ = self._git("diff", "--quiet", commit, "--", self.chart, check=False)
        return code != 0

    def previous(self) -> PastChart | None:
        """The committed chart an upgrade test should start from; see the module doc."""
        self.deepen()
        current = self.working_version()
        # Every state the chart had is the tree of a commit that touched it, newest first.
        _, log = self._git("log", "--format=%H", "--", self.chart)
        states = [(c, v) for c in log.split() if (v := self.version_at(c)) is not None]
        for commit, version in states:
            if version != current:
                return PastChart(commit, version, "previous version")
        for commit, version in states:
            if self.differs_from_working_tree(commit):
                return PastChart(commit, version, f"same version {version}, earlier content")
        return None

    def export(self, past: PastChart, dest: Path) -> Path:
        """Write the chart folder as of `past.commit` under `dest`; return the chart's path."""
        dest.mkdir(parents=True, exist_ok=True)
        archive = dest / f"chart-{past.commit[:12]}.tar"
        self._git("archive", "--output", str(archive), past.commit, self.chart)
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
        archive.unlink()
        return dest / self.chart
