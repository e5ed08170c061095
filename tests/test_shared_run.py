"""One run, several test processes (tests/support/shared.py): what the first makes, the
others find; what the run started, it stops once, at its end."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from harness.core.tools import ROOT
from tests.support import shared


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
        from tests.support import shared
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
