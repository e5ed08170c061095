"""The chart on two real nodes: how its pods spread, and a node drained under load.

The nodes are the pair set apart for this unit of work (conftest.PAIR); the namespaces here
are confined to them, so the chart sees a cluster of two nodes and nothing else is evicted
by a drain. Each drain runs with a pool of exactly as many IPs as pods
(harness.disruption.drain).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from harness.chart.render import WORKLOAD_KINDS
from harness.core.objects import is_ready
from harness.core.retry import wait_for
from harness.disruption.drain import REPLICAS, DrainOutcome, drain_under_load, pods_per_node
from harness.ipool import scenarios
from harness.kube.client import Kube
from tests.e2e.conftest import PAIR, NamespaceFactory
from tests.e2e.release import ReleaseUnderTest

pytestmark = [pytest.mark.e2e, pytest.mark.node_shares(0)]


@pytest.fixture(scope="module")
def rehearsal(kube: Kube, local_cluster, node_pair: list[str]) -> Iterator[scenarios.Rehearsal]:
    with scenarios.Rehearsal(
        kube, prepare_namespace=lambda ns: local_cluster.allow_pulls(ns, PAIR)
    ) as rehearsal:
        yield rehearsal


@pytest.fixture(scope="module")
def drains(local_cluster, rehearsal: scenarios.Rehearsal) -> dict[str, DrainOutcome]:
    """Both kinds drained, one after the other (a drain cordons a node of the pair)."""
    outcomes = {}
    for kind in WORKLOAD_KINDS:
        outcomes[kind] = drained = drain_under_load(local_cluster, rehearsal, kind)
        print(
            f"\ndrain of {drained.node}, {kind}: {drained.traffic.failed} of "
            f"{drained.traffic.sent} requests failed, min Ready {drained.measurement.min_ready}, "
            f"peak IPs {drained.measurement.peak_ips} of {drained.pool_size}, drained in "
            f"{drained.drain_seconds} s, full strength after {drained.full_strength_seconds} s"
        )
    return outcomes


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_with_the_chart_defaults_three_pods_land_on_both_nodes(
    drains: dict[str, DrainOutcome], node_pair: list[str], kind: str
):
    before = drains[kind].pods_per_node_before
    assert sorted(before) == sorted(node_pair)
    assert sum(before.values()) == REPLICAS


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_a_drain_under_load_fails_no_request(drains: dict[str, DrainOutcome], kind: str):
    traffic = drains[kind].traffic
    assert traffic.sent > 0
    assert traffic.failed == 0, [*traffic.new_connections.failures, *traffic.keep_alive.failures]


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_a_drain_keeps_all_but_one_pod_ready_within_a_pool_of_as_many_ips_as_pods(
    drains: dict[str, DrainOutcome], kind: str
):
    drained = drains[kind]
    measured = drained.measurement
    assert measured.min_ready is not None and measured.min_ready >= drained.replicas - 1
    assert measured.peak_ips <= drained.pool_size
    assert measured.duplicate_ips == []
    assert drained.pods_per_node_after == {
        next(n for n in drained.pods_per_node_before if n != drained.node): drained.replicas
    }


def test_required_anti_affinity_leaves_the_third_pod_pending_on_two_nodes(
    kube: Kube, namespaces: NamespaceFactory, node_pair: list[str]
):
    release = ReleaseUnderTest(kube, namespaces(group=PAIR))
    anti_affinity = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "dummy-flask-app"}},
                }
            ]
        }
    }
    release.helm(
        "install",
        release.name,
        "charts/dummy-flask-app",
        "--set",
        f"replicaCount={REPLICAS}",
        "--set-json",
        f"affinity={json.dumps(anti_affinity)}",
    )

    def two_ready_one_pending() -> list | None:
        pods = kube.objects("pods", release.namespace, release.selector)
        ready = [pod for pod in pods if is_ready(pod)]
        pending = [pod for pod in pods if not pod["spec"].get("nodeName")]
        return pods if len(ready) == 2 and len(pending) == 1 else None

    pods = wait_for(two_ready_one_pending, "two pods Ready and one Pending", 120)
    assert sorted(pods_per_node(pods)) == sorted(node_pair)
    events = kube.objects("events", release.namespace)
    said = [e["message"] for e in events if e.get("reason") == "FailedScheduling"]
    assert any("anti-affinity" in message for message in said), said
