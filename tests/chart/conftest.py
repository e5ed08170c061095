"""The chart tests' reporting: the property tests' count, time and seed at the end of a run."""

from __future__ import annotations

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from harness.core.tools import ROOT
from tests.support import property_runs, shared

# Hypothesis caches Unicode tables in its home folder; keep it in the git-ignored .tools
# rather than a .hypothesis folder in the working tree (there is no example database).
set_hypothesis_home_dir(ROOT / ".tools" / "scratch" / "hypothesis")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = property_runs.summary()
    if line:
        terminalreporter.write_sep("-", line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a worker of a run in several processes, which has no terminal: the line goes to
    the main process (tests/conftest.py), which prints it."""
    line = property_runs.summary()
    if line and hasattr(session.config, "workeroutput"):
        session.config.workeroutput.setdefault(shared.SUMMARY_KEY, []).append(line)
