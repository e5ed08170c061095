"""Rehearsals side by side (harness.ipool.scenarios.Rehearsals): the scheduler alone, with
ways that only record when they ran; the e2e suite runs it with the real ones."""

from __future__ import annotations

import threading
import time

import pytest

from harness.ipool.recorder import Measurement
from harness.ipool.scenarios import Outcome, Rehearsals

REHEARSAL = object()  # what each way is handed; these ways never look at it


class Ways:
    """Ways that take `seconds`, noting when each starts and ends and how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.log: list[tuple[str, str]] = []

    def way(self, key: str, seconds: float = 0.05, fails: bool = False):
        def rehearse(rehearsal: object) -> Outcome:
            assert rehearsal is REHEARSAL
            with self.lock:
                self.running += 1
                self.most_at_once = max(self.most_at_once, self.running)
                self.log.append(("start", key))
            time.sleep(seconds)
            with self.lock:
                self.running -= 1
                self.log.append(("end", key))
            if fails:
                raise RuntimeError(f"{key} failed")
            return Outcome(key, key, Measurement())

        return (key, rehearse)


def test_ways_run_side_by_side_but_never_more_than_at_once_allows():
    ways = Ways()
    with Rehearsals(REHEARSAL, at_once=3) as rehearsals:  # type: ignore[arg-type]
        for key in "abcdef":
            rehearsals.start(ways.way(key, seconds=0.1))
        assert [rehearsals.outcome(key).key for key in "abcdef"] == list("abcdef")
    assert ways.most_at_once == 3


def test_the_ways_of_a_chain_run_one_after_another_in_their_order():
    ways = Ways()
    with Rehearsals(REHEARSAL, at_once=4) as rehearsals:  # type: ignore[arg-type]
        rehearsals.start(ways.way("first"), ways.way("second"), ways.way("third"))
        rehearsals.wait()
    assert ways.log == [
        ("start", "first"), ("end", "first"),
        ("start", "second"), ("end", "second"),
        ("start", "third"), ("end", "third"),
    ]  # fmt: skip


def test_a_failed_way_raises_for_its_own_test_only_and_its_chain_goes_on():
    ways = Ways()
    with Rehearsals(REHEARSAL, at_once=2) as rehearsals:  # type: ignore[arg-type]
        rehearsals.start(ways.way("broken", fails=True), ways.way("after"))
        rehearsals.start(ways.way("beside"))
        with pytest.raises(RuntimeError, match="broken failed"):
            rehearsals.outcome("broken")
        assert rehearsals.outcome("after").key == "after"
        assert rehearsals.outcome("beside").key == "beside"


def test_wait_returns_once_every_started_way_has_ended_however_it_ended():
    ways = Ways()
    with Rehearsals(REHEARSAL, at_once=2) as rehearsals:  # type: ignore[arg-type]
        rehearsals.start(ways.way("slow", seconds=0.2), ways.way("failing", fails=True))
        rehearsals.start(ways.way("quick"))
        rehearsals.wait()
        assert ways.running == 0
        assert [event for event, _ in ways.log].count("end") == 3


def test_a_way_started_twice_is_refused():
    ways = Ways()
    with Rehearsals(REHEARSAL, at_once=1) as rehearsals:  # type: ignore[arg-type]
        rehearsals.start(ways.way("once"))
        with pytest.raises(ValueError, match="once is rehearsed already"):
            rehearsals.start(ways.way("once"))
