"""A node drained while the app takes steady load through its Service, on a pool of exactly
as many IPs as pods.

`drain_under_load` installs image 1.5.0 with three replicas and ipool on, as a namespace
operator would (scripts/deploy's commands), in a namespace confined to a group of two real
nodes (harness.cluster.groups). With the chart's defaults the pods spread over both nodes.
Under load from the first node's namespace (harness.traffic), it drains the group's node
that runs the most of them, as a cluster admin does (`kubectl drain`), waits until the
release is back at full strength, and uncordons the node. The Recorder
(harness.ipool.recorder) keeps the fewest Ready pods and the most pool IPs held at once.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field

from harness.chart.render import DEFAULT_RELEASE
from harness.cluster.local import LocalCluster
from harness.core.objects import Obj, label_selector
from harness.core.tools import tool_path
from harness.ipool.recorder import Measurement, Recorder
from harness.ipool.scenarios import ROLLOUT_TIMEOUT, Rehearsal
from harness.kube.api import KubeAPI
from harness.ops.deploy import DeployRequest
from harness.ops.image import REPOSITORY
from harness.traffic.client import TrafficReport
from harness.traffic.under_load import ServiceTraffic

REPLICAS = 3
TAG = "1.5.0"
DRAIN_TIMEOUT_S = 240
RECOVERY_TIMEOUT_S = 180.0


@dataclass
class DrainOutcome:
    """One drain: where the pods were, what the users and the pool saw, how long it took."""

    kind: str
    node: str  # the node drained
    pool_size: int
    replicas: int
    pods_per_node_before: dict[str, int]
    pods_per_node_after: dict[str, int]
    drain_seconds: float  # kubectl drain, from start to its return
    full_strength_seconds: float  # from the drain's start until every replica is Ready again
    measurement: Measurement
    traffic: TrafficReport
    drain_output: list[str] = field(default_factory=list)


def pods_per_node(pods: list[Obj]) -> dict[str, int]:
    """How many of `pods` each node runs (pods not yet scheduled apart)."""
    placed = [pod["spec"].get("nodeName") for pod in pods]
    return dict(sorted(collections.Counter(name for name in placed if name).items()))


def drain_under_load(local: LocalCluster, rehearsal: Rehearsal, kind: str) -> DrainOutcome:
    """The module doc's drain, for `kind` (Deployment or StatefulSet). The rehearsal's
    namespaces must be confined to a group of two nodes (its `prepare_namespace`)."""
    kube = rehearsal.kube
    with rehearsal.namespace(f"drain-{kind.lower()}") as ns, rehearsal.pool(ns, REPLICAS):
        values = {
            "workload.kind": kind,
            "replicaCount": str(REPLICAS),
            "image.tag": TAG,
            "ipool.enabled": "true",
            "ipool.name": ns,
        }
        rehearsal.deploy(DeployRequest(DEFAULT_RELEASE, ns, set=values, timeout=ROLLOUT_TIMEOUT))
        service = kube.get("service", DEFAULT_RELEASE, ns)
        assert service is not None, f"the release's Service in {ns}"
        url = f"http://{service['spec']['clusterIP']}:{service['spec']['ports'][0]['port']}/"
        workload = kube.objects("deployments,statefulsets", ns)[0]
        selector = workload["spec"]["selector"]["matchLabels"]
        before = pods_per_node(kube.objects("pods", ns, label_selector(selector)))
        node = max(before, key=lambda name: (before[name], name))
        api = KubeAPI(kube.kubeconfig)
        try:
            with ServiceTraffic(local, url) as traffic, Recorder(api, ns, selector) as recorder:
                began = time.monotonic()
                drained = kube.run(
                    [
                        tool_path("kubectl"),
                        "drain",
                        node,
                        "--ignore-daemonsets",
                        "--delete-emptydir-data",
                        f"--timeout={DRAIN_TIMEOUT_S}s",
                    ],
                    timeout=DRAIN_TIMEOUT_S + 30,
                )
                drain_seconds = time.monotonic() - began
                after = kube.settled_pods(
                    ns, label_selector(selector), f"{REPOSITORY}:{TAG}", REPLICAS
                )
                full_strength = time.monotonic() - began
                recorder.measurement.completed = True
        finally:
            api.close()
            kube.kubectl("uncordon", node)
    assert traffic.report is not None
    return DrainOutcome(
        kind=kind,
        node=node,
        pool_size=REPLICAS,
        replicas=REPLICAS,
        pods_per_node_before=before,
        pods_per_node_after=pods_per_node(after),
        drain_seconds=round(drain_seconds, 1),
        full_strength_seconds=round(full_strength, 1),
        measurement=recorder.measurement,
        traffic=traffic.report,
        drain_output=(drained.stdout + drained.stderr).splitlines(),
    )
