"""The releases a disruption scenario watches: one per workload kind, each in a namespace and
a pool of its own (exactly as many IPs as pods), installed as a namespace operator installs
them (scripts/deploy's commands), then kept under load and recorded while a node goes away.

The rehearsal's namespaces must be confined to a group of nodes (harness.cluster.groups):
a drain or a dead node then touches these releases and nothing else.
"""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from harness.chart.render import DEFAULT_RELEASE
from harness.cluster.local import LocalCluster
from harness.core.objects import Obj, label_selector
from harness.ipool.recorder import Measurement, Recorder
from harness.ipool.scenarios import REPLICAS, Rehearsal, install_with_pool
from harness.kube.api import KubeAPI
from harness.ops.image import REPOSITORY
from harness.traffic.client import TrafficReport
from harness.traffic.under_load import ServiceTraffic

TAG = "1.5.0"


def pods_per_node(pods: Sequence[Obj]) -> dict[str, int]:
    """How many of `pods` each node runs (pods not yet scheduled apart)."""
    placed = [pod["spec"].get("nodeName") for pod in pods]
    return dict(sorted(collections.Counter(name for name in placed if name).items()))


@dataclass
class Watched:
    """One release through the disruption: where its pods were and went, what its users
    and its pool saw, and when it was whole again (seconds from the disruption's start)."""

    kind: str
    namespace: str
    url: str
    selector: dict[str, str]
    pool_size: int = REPLICAS
    replicas: int = REPLICAS
    pods_per_node_before: dict[str, int] = field(default_factory=dict)
    pods_per_node_after: dict[str, int] = field(default_factory=dict)
    full_strength_seconds: float = 0.0
    measurement: Measurement = field(default_factory=Measurement)
    traffic: TrafficReport | None = None
    load_started: float = 0.0  # time.monotonic() when the load began

    def failures_since(self, origin: float) -> list[tuple[float, str]]:
        """Every failed request: when (seconds since `origin`, a time.monotonic()) and why."""
        assert self.traffic is not None, "the load has ended"
        failures = [*self.traffic.new_connections.failures, *self.traffic.keep_alive.failures]
        timed = [failure.split(" s: ", 1) for failure in failures]
        return sorted((self.load_started + float(at) - origin, why) for at, why in timed)

    def pods(self, rehearsal: Rehearsal) -> list[Obj]:
        return rehearsal.kube.objects("pods", self.namespace, label_selector(self.selector))

    def settle(self, rehearsal: Rehearsal, began: float) -> None:
        """Wait until all replicas run 1.5.0, Ready, and no other pod is left; note when."""
        after = rehearsal.kube.settled_pods(
            self.namespace, label_selector(self.selector), f"{REPOSITORY}:{TAG}", self.replicas
        )
        self.full_strength_seconds = round(time.monotonic() - began, 1)
        self.pods_per_node_after = pods_per_node(after)


@contextlib.contextmanager
def installed(rehearsal: Rehearsal, stem: str, kinds: Sequence[str]) -> Iterator[list[Watched]]:
    """One release of each kind, installed and Ready, for the block; their namespaces and
    pools are deleted after it."""
    kube = rehearsal.kube
    with contextlib.ExitStack() as stack:
        releases = []
        for kind in kinds:
            ns = stack.enter_context(rehearsal.namespace(f"{stem}-{kind.lower()}"))
            stack.enter_context(rehearsal.pool(ns, REPLICAS))
            install_with_pool(rehearsal, ns, {"workload.kind": kind, "image.tag": TAG})
            service = kube.get("service", DEFAULT_RELEASE, ns)
            assert service is not None, f"the release's Service in {ns}"
            port = service["spec"]["ports"][0]["port"]
            workload = kube.objects("deployments,statefulsets", ns)[0]
            watched = Watched(
                kind,
                ns,
                f"http://{service['spec']['clusterIP']}:{port}/",
                workload["spec"]["selector"]["matchLabels"],
            )
            watched.pods_per_node_before = pods_per_node(watched.pods(rehearsal))
            releases.append(watched)
        yield releases


@contextlib.contextmanager
def under_load(
    local: LocalCluster, rehearsal: Rehearsal, releases: Sequence[Watched]
) -> Iterator[None]:
    """Steady load on each release's Service and a recorder on its pods, for the block; each
    release's `measurement` and `traffic` are filled in on leaving it."""
    traffics, recorders = [], []
    with contextlib.ExitStack() as stack:
        for watched in releases:
            api = KubeAPI(rehearsal.kube.kubeconfig)  # its own: recorders never take turns
            stack.callback(api.close)
            traffics.append(stack.enter_context(ServiceTraffic(local, watched.url)))
            watched.load_started = traffics[-1].started
            recorders.append(
                stack.enter_context(Recorder(api, watched.namespace, watched.selector))
            )
        yield
        for recorder in recorders:
            recorder.measurement.completed = True
    for watched, traffic, recorder in zip(releases, traffics, recorders, strict=True):
        watched.traffic, watched.measurement = traffic.report, recorder.measurement


def busiest_node(releases: Sequence[Watched]) -> str:
    """The node that runs the most of these releases' pods (by name on a tie)."""
    total: collections.Counter[str] = collections.Counter()
    for watched in releases:
        total.update(watched.pods_per_node_before)
    return busiest(total)


def busiest(per_node: Mapping[str, int]) -> str:
    """The node with the most pods of `per_node` (pods_per_node's count; by name on a tie)."""
    return max(per_node, key=lambda name: (per_node[name], name))
