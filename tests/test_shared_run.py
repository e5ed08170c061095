"""One run, several test processes (tests/support/shared.py): what the first makes, the
others find; what the run started, it stops once, at its end."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from harness.core.tools import ROOT
from tests.support import node_shares, shared


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setattr(shared, "STATE_DIR", tmp_path)
    monkeypatch.setenv(shared.RUN_ENV, "run-a")
    return tmp_path


def test_the_first_process_to_ask_makes_it_and_the_others_of_the_run_find_it(state, tmp_path):
    made = tmp_path / "made"
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from tests.support import node_shares, shared
        shared.STATE_DIR = Path({str(state)!r})

        def make():
            with Path({str(made)!r}).open("a") as out:
                out.write("made\\n")
            time.sleep(0.3)  # the others ask meanwhile
            return {{"image": "app:1"}}

        print(shared.once("image", make)["image"])
        """
    )
    env = {"PYTHONPATH": str(ROOT), shared.RUN_ENV: "run-a"}
    processes = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    answers = [process.communicate(timeout=60)[0].strip() for process in processes]

    assert answers == ["app:1"] * 3
    assert made.read_text() == "made\n"


def test_a_later_run_makes_it_again(state, monkeypatch):
    assert shared.once("image", lambda: "first") == "first"
    assert shared.once("image", lambda: "second") == "first"
    monkeypatch.setenv(shared.RUN_ENV, "run-b")
    assert shared.kept("image") is None
    assert shared.once("image", lambda: "second") == "second"


def test_what_a_run_started_is_listed_once_in_order_and_forgotten_after(state, monkeypatch):
    shared.started("cluster")
    shared.started("engine")
    shared.started("cluster")
    monkeypatch.setenv(shared.RUN_ENV, "run-b")
    shared.started("engine")
    monkeypatch.setenv(shared.RUN_ENV, "run-a")

    assert shared.started_by_this_run() == ["cluster", "engine"]
    shared.forget_this_run()
    assert shared.started_by_this_run() == []
    monkeypatch.setenv(shared.RUN_ENV, "run-b")
    assert shared.started_by_this_run() == ["engine"]


# Records which process started which test, and runs none of them.
WHO_RAN = """
import os, pytest

def pytest_runtest_logstart(nodeid, location):
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # the main process hears of it too
    if worker:
        with open(os.environ["WHO_RAN"], "a") as out:
            out.write(worker + " " + nodeid + "\\n")

def pytest_runtest_setup(item):
    pytest.skip("only scheduled")
"""


def test_the_ipool_files_run_in_one_process_and_a_property_file_spreads_over_several(tmp_path):
    """The real scheduler (tests/conftest.py's UnitsOfWork) on the suite's own files: both
    ipool files install the emulator cluster-wide, so one process runs them all."""
    (tmp_path / "who_ran_plugin.py").write_text(WHO_RAN)
    log = tmp_path / "who-ran.txt"
    files = [
        "tests/e2e/test_ipool_emulator.py",
        "tests/e2e/test_ipool_rollouts.py",
        "tests/chart/test_renderer.py",
        "tests/test_retry.py",
    ]
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "WHO_RAN": str(log), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "who_ran_plugin", "-n", "3", "-q", "-p",
         "no:cacheprovider", *files],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    ran = [line.split(" ", 1) for line in log.read_text().splitlines()]
    by_file: dict[str, set[str]] = {}
    for worker, nodeid in ran:
        by_file.setdefault(nodeid.split("::", 1)[0], set()).add(worker)
    assert by_file.keys() == set(files)
    ipool = (
        by_file["tests/e2e/test_ipool_emulator.py"] | by_file["tests/e2e/test_ipool_rollouts.py"]
    )
    assert len(ipool) == 1, f"the ipool files ran in {sorted(ipool)}"
    assert len(by_file["tests/test_retry.py"]) == 1
    assert len(by_file["tests/chart/test_renderer.py"]) > 1, "each of its tests is a unit"


@pytest.mark.parametrize(("quantity", "millicores"), [("2", 2000), ("1500m", 1500), ("0.5", 500)])
def test_a_cpu_quantity_reads_as_millicores(quantity, millicores):
    assert node_shares.millicpu(quantity) == millicores


def test_no_more_tests_hold_the_node_at_once_than_it_has_shares(state):
    shares = node_shares.NodeShares(count=2)
    holding, most = [0], [0]
    guard = threading.Lock()

    def one_test() -> None:
        with shares.held():
            with guard:
                holding[0] += 1
                most[0] = max(most[0], holding[0])
            time.sleep(0.3)
            with guard:
                holding[0] -= 1

    tests = [threading.Thread(target=one_test) for _ in range(5)]
    for test in tests:
        test.start()
    for test in tests:
        test.join(30)
    assert most[0] == 2


def test_a_block_inside_a_held_one_takes_no_more_shares_so_a_test_never_waits_for_itself(state):
    shares = node_shares.NodeShares(count=1)
    with shares.held(), shares.held(), shares.held(3):
        other = threading.Thread(target=lambda: shares.held().__enter__())
        other.daemon = True
        other.start()
        other.join(1.0)
        assert other.is_alive(), "another thread waits while this one holds the only share"
