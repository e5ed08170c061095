"""What the test processes of one run share: the local cluster, the engine, the images.

`make test` runs the suite in several processes (pytest-xdist, one test file per process at
a time). Each process asks for the cluster, the engine and the images as fixtures; the first
to ask starts or builds them under a lock, the others find them ready. The run then stops
what it started, once, when the whole run ends (`stop_what_this_run_started`, called by the
main process only), not when the first process is done with them.

A run is named by `RUN_ENV`, set by the main process before its workers start, so they
inherit it; a run without workers names itself the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from harness.core.tools import SCRATCH_DIR

RUN_ENV = "DFA_TEST_RUN"
STATE_DIR = SCRATCH_DIR / "test-run"
# Lines a worker hands the main process for the end of the run (pytest-xdist's workeroutput).
SUMMARY_KEY = "summary_lines"

T = TypeVar("T")


def name_the_run() -> str:
    """This run's name, made now unless a process above this one made it already."""
    return os.environ.setdefault(RUN_ENV, secrets.token_hex(6))


def this_run() -> str:
    run = os.environ.get(RUN_ENV)
    if not run:
        raise RuntimeError(f"{RUN_ENV} is not set: tests/conftest.py names the run first")
    return run


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Held by one process of any run at a time (a file lock, let go if the process dies)."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with (STATE_DIR / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def kept(name: str) -> Any:
    """What `once(name, …)` kept in this run, or None."""
    path = STATE_DIR / f"{name}.json"
    with exclusive(name):
        found = json.loads(path.read_text()) if path.exists() else None
    return found["value"] if found and found["run"] == this_run() else None


def once(name: str, make: Callable[[], T]) -> T:
    """`make()`'s result, made by the first process of this run that asks and kept as JSON
    for the others; `make` runs again in a later run."""
    kept = STATE_DIR / f"{name}.json"
    with exclusive(name):
        if kept.exists():
            found = json.loads(kept.read_text())
            if found["run"] == this_run():
                return found["value"]
        value = make()
        kept.write_text(json.dumps({"run": this_run(), "value": value}))
        return value


def started(name: str) -> None:
    """Note that this run started `name`, so that it stops it at its end."""
    with exclusive("started"):
        noted = _started()
        noted.setdefault(this_run(), [])
        if name not in noted[this_run()]:
            noted[this_run()].append(name)
        (STATE_DIR / "started.json").write_text(json.dumps(noted))


def started_by_this_run() -> list[str]:
    """What this run started, in the order it started it."""
    with exclusive("started"):
        return list(_started().get(this_run(), []))


def forget_this_run() -> None:
    with exclusive("started"):
        noted = _started()
        noted.pop(this_run(), None)
        (STATE_DIR / "started.json").write_text(json.dumps(noted))


def _started() -> dict[str, Any]:
    path: Path = STATE_DIR / "started.json"
    return json.loads(path.read_text()) if path.exists() else {}
