"""Polling with a deadline: the one way the harness waits for something to become true.

No caller sleeps to wait for a cluster, a container or a process; each says what it waits
for, and a timeout names it together with the last thing seen.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Collection
from typing import TypeVar

from harness.core.proc import ExternalError

T = TypeVar("T")

# What a check may raise while the thing it looks at is still in between states: a command
# or an API call fails, a file or a process is not there yet. Not KeyError or TypeError: a
# field that may be missing is read with .get(), so those are bugs in the check, and a bug
# ends the wait at once instead of being polled for the whole timeout.
TRANSIENT = (ExternalError, OSError)


class WaitTimeout(Exception):
    """A condition polled by `wait_for` did not hold before its deadline."""


def wait_for(
    check: Callable[[], T | None],
    what: str,
    timeout: float,
    interval: float = 0.5,
    transient: tuple[type[BaseException], ...] = TRANSIENT,
) -> T:
    """Poll `check` until it returns something truthy, and return that.

    A check that raises one of `transient` (default TRANSIENT) is polled again; anything else
    it raises ends the wait at once. After `timeout` seconds raise
    WaitTimeout naming `what` was waited for and the last value `check` returned, or the
    last error it raised (chained, so its traceback is kept).
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
            last = result
        except transient as exc:
            result, last = None, exc
        if result:
            return result
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:g} s waiting for {what}; last seen: {last!r}"
            raise WaitTimeout(message) from (last if isinstance(last, Exception) else None)
        time.sleep(interval)


def wait_until_gone(
    remaining: Callable[[], Collection[object]], what: str, timeout: float, interval: float = 0.5
) -> None:
    """Poll until `remaining()` is empty; a timeout lists what was still there."""
    left: list[Collection[object]] = [()]

    def gone() -> bool:
        left[0] = remaining()
        return not left[0]

    try:
        wait_for(gone, what, timeout, interval)
    except WaitTimeout as exc:
        raise WaitTimeout(f"{exc}; still there: {sorted(map(str, left[0]))}") from None


def terminate(
    find: Callable[[], Collection[int]], what: str, timeout: float, *, graceful: bool = True
) -> list[int]:
    """SIGTERM whatever `find()` lists, wait up to `timeout`, then SIGKILL what is left and
    wait again; return the pids that survived even that (empty when all went). Not
    `graceful`: SIGKILL at once, as a power loss would."""
    for sig in (signal.SIGTERM, signal.SIGKILL) if graceful else (signal.SIGKILL,):
        pids = find()
        if not pids:
            return []
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # gone with one killed before it
                os.kill(pid, sig)
        with contextlib.suppress(WaitTimeout):
            wait_for(lambda: not find(), f"{what} to exit", timeout, 0.1)
    return sorted(find())
