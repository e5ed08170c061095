"""Fixtures shared by the whole suite: the Helms, the render API, the project's own Docker
Engine and the app image built on it (the image tests run it, the node tests push it)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from harness.chart import render as rendering
from harness.container.app_container import build_app_image
from harness.container.baseimage import ensure_base_image
from harness.container.engine import Engine
from harness.core.tools import tool_path
from tests.support import end_of_run, property_runs, shared, timings

# The chart must behave the same on the pinned Helm 4 and on the last Helm 3 release.
HELMS = {"helm4": "helm", "helm3": "helm3"}
# The workers' end-of-run lines, gathered by the main process.
SUMMARY_LINES: list[str] = []


@pytest.fixture(scope="session", params=list(HELMS), ids=list(HELMS))
def helm(request: pytest.FixtureRequest) -> Path:
    """Each pinned helm binary in turn."""
    return tool_path(HELMS[request.param])


@pytest.fixture(scope="session")
def render(helm: Path) -> Callable[..., rendering.Manifests]:
    """`harness.chart.render.render`, bound to the helm under test."""
    return partial(rendering.render, helm=helm)


@pytest.fixture(scope="session")
def render_error(helm: Path) -> Callable[..., str]:
    """Renders values that must be refused; returns helm's stderr."""

    def refuse(*args: object, **kwargs: object) -> str:
        with pytest.raises(rendering.RenderError) as refused:
            rendering.render(*args, helm=helm, **kwargs)  # type: ignore[arg-type]
        return refused.value.stderr

    return refuse


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The project's Docker Engine: started by the run's first test process that asks (or
    reused when `python -m harness.container up` left one running), stopped when the run ends
    if the run started it, checking that none of its processes is left."""
    engine = Engine()
    with shared.exclusive("engine"):
        if engine.start():
            shared.started("engine")
    return engine


@pytest.fixture(scope="session")
def base_image(engine: Engine) -> str:
    return shared.once("base-image", lambda: ensure_base_image(engine, log=False))


@pytest.fixture(scope="session")
def app_image(engine: Engine, base_image: str) -> str:
    """The repo's Dockerfile, built now, once a run: a stale image from an earlier run proves
    nothing."""
    return shared.once("app-image", lambda: build_app_image(engine, base_image=base_image))


# --- one run, several processes (tests/support/shared.py) ---


def is_worker(config: pytest.Config) -> bool:
    """Whether this process runs tests for another (pytest-xdist's workers)."""
    return hasattr(config, "workerinput")


# Files whose tests must run in one process, one after another: both install the ipool
# emulator cluster-wide and uninstall it when done.
TOGETHER = {
    "tests/e2e/test_ipool_emulator.py": "ipool-emulator",
    "tests/e2e/test_ipool_rollouts.py": "ipool-emulator",
    "tests/e2e/test_two_nodes.py": "ipool-emulator",
}
# Files whose tests share nothing but session fixtures: each test is a unit of its own, so
# that their long property runs spread over the processes.
APART = {"tests/chart/test_properties.py", "tests/chart/test_renderer.py"}
# The main process's timings of the run (none in a worker, whose reports it hears).
RUN_TIMINGS: list[timings.Timings] = []


def pytest_configure(config: pytest.Config) -> None:
    """Name the run, and draw the property tests' seed once for it, before any worker
    starts: the workers inherit both. The main process times the run."""
    if not is_worker(config):
        shared.name_the_run()
        os.environ.setdefault(property_runs.SEED_ENV, str(property_runs.new_seed()))
        processes = getattr(config.option, "numprocesses", None) or 1
        RUN_TIMINGS.append(timings.Timings(processes=processes))


class UnitsOfWork(LoadScopeScheduling):
    """pytest-xdist's scheduler for a run in several processes: it hands a process one unit
    of work at a time, in the order the processes collected them (slowest first, see
    `pytest_collection_modifyitems`). A unit is a test file, the files in TOGETHER share
    one, and each test of a file in APART is one."""

    def _split_scope(self, nodeid: str) -> str:
        name = nodeid.split("::", 1)[0]
        return nodeid if name in APART else TOGETHER.get(name, name)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> UnitsOfWork:
    return UnitsOfWork(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test process orders the run's files slowest first, as the committed record has
    them: no long file starts last. (All processes order them alike, as xdist checks.)"""
    if not is_worker(config):
        return
    files = {item.nodeid.split("::", 1)[0] for item in items}
    e2e = {item.nodeid.split("::", 1)[0] for item in items if item.get_closest_marker("e2e")}
    rank = {name: index for index, name in enumerate(timings.slowest_first(sorted(files), e2e))}
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each phase of each test, as the main process hears of it (workers' reports too)."""
    if RUN_TIMINGS:
        RUN_TIMINGS[0].add(report.nodeid, report.duration)


def pytest_testnodedown(node: Any, error: object) -> None:
    """A worker's end-of-run lines (tests/chart/conftest.py), printed by the main process."""
    SUMMARY_LINES.extend(node.workeroutput.get(shared.SUMMARY_KEY, []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in SUMMARY_LINES:
        terminalreporter.write_sep("-", line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Once the whole run is over: what the ipool emulator left, and stop what the run
    started (the cluster, the engine). A problem fails the run."""
    if is_worker(session.config):
        return
    if RUN_TIMINGS and (written := RUN_TIMINGS[0].write()):
        print(f"\ntest times written to {written} and {written.with_suffix('.md')}")
    problems = end_of_run.check_and_stop()
    for problem in problems:
        print(f"\nend of the test run: {problem}", file=sys.stderr)
    if problems:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
