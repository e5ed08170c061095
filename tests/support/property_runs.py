"""How many generated cases the property tests ran, and how long they took.

One setting decides the budget: `DFA_PROPERTY_CASES`, the generated values sets a whole run
checks, shared out evenly by `examples_per_run`: 2,000 in `make test` (the Makefile sets it),
400 in a bare `pytest` run, so that the quick loop stays quick. The seed is drawn afresh for
every run unless `DFA_PROPERTY_SEED` repeats one; tests/chart/conftest.py prints both, with
the count and the time, when the session ends.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hypothesis import settings

SEED_ENV = "DFA_PROPERTY_SEED"
CASES_ENV = "DFA_PROPERTY_CASES"
CASES = int(os.environ.get(CASES_ENV, "400"))


def new_seed() -> int:
    return random.SystemRandom().randrange(2**32)


# Drawn by the run's main process (tests/conftest.py), so that every test process of it
# generates from the same seed and the one seed printed repeats the whole run.
SEED = int(os.environ.get(SEED_ENV) or new_seed())

# No example database (failing examples are kept by hand in
# tests/chart/values/property-regressions.yaml), no deadline (a render's time depends on the
# machine's load), and the blob that replays a failure printed with it.
settings.register_profile(
    "chart-properties", database=None, deadline=None, print_blob=True, max_examples=CASES
)
PROFILE = settings.get_profile("chart-properties")


def examples_per_run(runs: int) -> int:
    """Each of `runs` property runs' share of the budget."""
    return max(1, -(-CASES // runs))


@dataclass
class Tally:
    cases: int = 0
    seconds: float = 0.0


TALLIES: dict[str, Tally] = {}


def count(name: str) -> None:
    """One generated case of the property run `name`."""
    TALLIES.setdefault(name, Tally()).cases += 1


@contextmanager
def timed(name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        TALLIES.setdefault(name, Tally()).seconds += time.perf_counter() - start


def summary() -> str | None:
    """One line for the end of the run: cases, time, seed; None when no property ran."""
    if not TALLIES:
        return None
    cases = sum(t.cases for t in TALLIES.values())
    seconds = sum(t.seconds for t in TALLIES.values())
    parts = ", ".join(f"{name} {t.cases} in {t.seconds:.1f} s" for name, t in TALLIES.items())
    return (
        f"chart properties: {cases} generated values sets in {seconds:.1f} s "
        f"(budget {CASES}; {parts}); seed {SEED}, repeat with DFA_PROPERTY_SEED={SEED}"
    )
