"""Shares of the node's CPU, held by the tests that run pods while their pods exist.

The test processes share one node (tests/support/shared.py). Its scheduler places a pod only
where the CPU the pods there request still fits, so tests side by side could together ask
for more than the node has: a pod then waits as `Insufficient cpu`, and scripts/deploy
rightly reports a stall after 30 s. Instead, each workload a test runs holds a share of the
node first: a share is SHARE_MILLICPU, four of the chart's pods (100m each: three replicas
and the surge pod), and the node has as many shares as its allocatable CPU holds once the
system's pods have theirs. A test that runs more holds more shares, and holds them until
its pods are gone: the scheduler counts a terminating pod's request too.

A share is a file lock (`STATE_DIR/node-share-N.lock`), so it is let go when its holder
dies. A thread holds its shares until its outermost block ends: a block inside it (a
rehearsal's namespace inside a test's) takes nothing more, so one holder never waits for
itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from harness.kube.client import Kube
from tests.support import shared

SHARE_MILLICPU = 400
POLL_S = 0.5

_held = threading.local()


def millicpu(quantity: str) -> int:
    """A CPU quantity as Kubernetes writes it ("2", "1500m", "0.5"), in millicores."""
    if quantity.endswith("m"):
        return int(quantity[:-1])
    return round(float(quantity) * 1000)


def shares_of(kube: Kube) -> int:
    """How many shares the cluster's untainted nodes hold beside its system pods' requests
    (a tainted node, such as one of a group set apart, takes no test's pods unasked)."""
    listed = json.loads(kube.kubectl("get", "nodes", "--output", "json"))["items"]
    nodes = [node for node in listed if not node["spec"].get("taints")]
    allocatable = sum(millicpu(node["status"]["allocatable"]["cpu"]) for node in nodes)
    system = sum(
        millicpu(container.get("resources", {}).get("requests", {}).get("cpu", "0"))
        for pod in kube.objects("pods", "kube-system")
        for container in pod["spec"]["containers"]
    )
    return max(1, (allocatable - system) // SHARE_MILLICPU)


@dataclass(frozen=True)
class NodeShares:
    count: int
    directory: Path = field(default_factory=lambda: shared.STATE_DIR)

    @contextlib.contextmanager
    def held(self, shares: int = 1) -> Iterator[None]:
        """Hold `shares` of the node (at most all of them) for the block; waits for them."""
        if getattr(_held, "depth", 0):
            _held.depth += 1
            try:
                yield
            finally:
                _held.depth -= 1
            return
        locks: list[IO[str]] = []
        try:
            while len(locks) < min(shares, self.count):
                locks.append(self._take_one())
            _held.depth = 1
            yield
        finally:
            _held.depth = 0
            for lock in locks:
                fcntl.flock(lock, fcntl.LOCK_UN)
                lock.close()

    def _take_one(self) -> IO[str]:
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            for index in range(self.count):
                lock = (self.directory / f"node-share-{index}.lock").open("w")
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    lock.close()
                else:
                    return lock
            time.sleep(POLL_S)
