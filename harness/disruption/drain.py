"""A node drained for maintenance while the app takes steady load through its Service.

`drain_under_load` installs one release of each kind (harness.disruption.releases: three
replicas, ipool on, a pool of exactly three IPs) on a group of two nodes. With the chart's
defaults the pods spread over both. Under load, it drains the node that runs the most of
them, as a cluster admin does (`kubectl drain`), waits until every release is whole again,
and uncordons the node. The PodDisruptionBudget lets the drain take one pod of a release at
a time; the recorder keeps the fewest Ready pods and the most pool IPs held at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.cluster.local import LocalCluster
from harness.core.tools import tool_path
from harness.disruption.releases import Watched, busiest_node, installed, under_load
from harness.ipool.scenarios import Rehearsal

DRAIN_TIMEOUT_S = 240


@dataclass
class Drain:
    """One drain: the node, how long `kubectl drain` took, what it said, and each release."""

    node: str
    drain_seconds: float
    releases: list[Watched]
    output: list[str] = field(default_factory=list)


def drain_command(node: str, timeout_s: float = DRAIN_TIMEOUT_S) -> list[str]:
    return [
        str(tool_path("kubectl")),
        "drain",
        node,
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        f"--timeout={timeout_s:g}s",
    ]


def drain_under_load(local: LocalCluster, rehearsal: Rehearsal, kinds: Sequence[str]) -> Drain:
    """The module doc's drain, for one release of each of `kinds`."""
    kube = rehearsal.kube
    with installed(rehearsal, "drain", kinds) as releases:
        node = busiest_node(releases)
        try:
            with under_load(local, rehearsal, releases):
                began = time.monotonic()
                done = kube.run(drain_command(node), timeout=DRAIN_TIMEOUT_S + 30)
                drained = round(time.monotonic() - began, 1)
                for watched in releases:
                    watched.settle(rehearsal, began)
        finally:
            kube.kubectl("uncordon", node)
    return Drain(node, drained, releases, (done.stdout + done.stderr).splitlines())
