"""Polling with a deadline: the one way the harness waits (harness.core.retry)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from harness.core.proc import CommandError
from harness.core.retry import WaitTimeout, terminate, wait_for, wait_until_gone


def test_wait_for_returns_the_first_truthy_result():
    answers = iter([None, [], {"ready": True}])

    assert wait_for(lambda: next(answers), "an answer", timeout=5, interval=0.01) == {"ready": True}


def test_a_check_that_fails_while_the_cluster_settles_is_polled_again():
    calls = []

    def check() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise CommandError(["kubectl", "get", "pods"], 1, "", "connection refused")
        return True

    assert wait_for(check, "conditions", timeout=5, interval=0.01) is True
    assert len(calls) == 3


def test_a_timeout_names_what_was_waited_for_and_keeps_the_last_error():
    def check() -> bool:
        raise FileNotFoundError("/run/ready")

    with pytest.raises(WaitTimeout, match="waiting for the Ready condition") as waited:
        wait_for(check, "the Ready condition", timeout=0.05, interval=0.01)

    assert isinstance(waited.value.__cause__, FileNotFoundError)


def test_wait_until_gone_lists_what_is_still_there():
    with pytest.raises(WaitTimeout, match=r"still there: \['Pod/a'\]"):
        wait_until_gone(lambda: {"Pod/a"}, "the pods to go", timeout=0.05)


@pytest.mark.parametrize(
    "bug", [ZeroDivisionError("a bug"), KeyError("status"), TypeError("'NoneType' object")]
)
def test_a_check_that_hits_a_bug_is_not_polled_again(bug: Exception):
    calls = []

    def check() -> bool:
        calls.append(1)
        raise bug

    with pytest.raises(type(bug)):
        wait_for(check, "anything", timeout=5, interval=0.01)
    assert len(calls) == 1


def test_a_timeout_is_not_an_assertion_so_commands_can_report_it():
    assert not issubclass(WaitTimeout, AssertionError)


def test_terminate_kills_what_ignores_sigterm_and_reports_nothing_left():
    polite = subprocess.Popen(["sleep", "100"])
    ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    stubborn = subprocess.Popen(
        [sys.executable, "-c", f"{ignore} print('ready', flush=True); time.sleep(100)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert stubborn.stdout.readline() == "ready\n"  # ignoring SIGTERM from here on

    def alive() -> list[int]:
        return [p.pid for p in (polite, stubborn) if p.poll() is None]

    assert terminate(alive, "two children", timeout=0.5) == []
    assert polite.returncode == -signal.SIGTERM
    assert stubborn.returncode == -signal.SIGKILL
