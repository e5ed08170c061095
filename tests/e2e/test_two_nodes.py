"""The chart on two real nodes: how its pods spread, a node drained under load, a node dead
and brought back with scripts/recover-node.

The nodes are the pair set apart for this unit of work (conftest.PAIR); the namespaces here
are confined to them, so the chart sees a cluster of two nodes and nothing else is evicted.
Each scenario runs one release of each kind at once, each with a pool of exactly as many IPs
as pods (harness.disruption).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from harness.chart.render import WORKLOAD_KINDS
from harness.core.objects import is_ready
from harness.core.proc import run
from harness.core.retry import wait_for
from harness.disruption.dead_node import RECOVER_NODE, DeadNode, dead_node_under_load
from harness.disruption.drain import Drain, drain_command, drain_under_load
from harness.disruption.releases import Watched, busiest, pods_per_node
from harness.ipool import scenarios
from harness.ipool.scenarios import REPLICAS
from harness.kube import identity
from harness.kube.client import Kube
from harness.ops.cli import Exit
from harness.ops.recover_node import OUT_OF_SERVICE
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
def drain(local_cluster, rehearsal: scenarios.Rehearsal) -> Drain:
    drained = drain_under_load(local_cluster, rehearsal, WORKLOAD_KINDS)
    for watched in drained.releases:
        print(f"\ndrain of {drained.node} in {drained.drain_seconds} s: {_summary(watched)}")
    return drained


@pytest.fixture(scope="module")
def dead_node(local_cluster, rehearsal: scenarios.Rehearsal, drain: Drain) -> DeadNode:
    """After the drain: both kill or cordon a node of the pair."""
    dead = dead_node_under_load(local_cluster, rehearsal, WORKLOAD_KINDS, PAIR)
    for watched in dead.releases:
        print(
            f"\n{dead.node} dead, NotReady after {dead.not_ready_seconds} s, endpoints gone after"
            f" {dead.served_dead_seconds[watched.kind]} s, kube-proxy's rules after"
            f" {dead.routed_dead_seconds[watched.kind]} s: {_summary(watched)}; failed later:"
            f" {dead.failed_after_routing_stopped[watched.kind]}"
        )
    return dead


def _summary(watched: Watched) -> str:
    assert watched.traffic is not None
    measured = watched.measurement
    return (
        f"{watched.kind}: {watched.traffic.failed} of {watched.traffic.sent} requests failed,"
        f" min Ready {measured.min_ready}, peak IPs {measured.peak_ips} of {watched.pool_size},"
        f" whole after {watched.full_strength_seconds} s"
    )


def _released(releases: list[Watched], kind: str) -> Watched:
    [watched] = [w for w in releases if w.kind == kind]
    return watched


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_with_the_chart_defaults_three_pods_land_on_both_nodes(
    drain: Drain, node_pair: list[str], kind: str
):
    before = _released(drain.releases, kind).pods_per_node_before
    assert sorted(before) == sorted(node_pair)
    assert sum(before.values()) == REPLICAS


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_a_drain_under_load_fails_no_request(drain: Drain, kind: str):
    traffic = _released(drain.releases, kind).traffic
    assert traffic is not None and traffic.sent > 0
    assert traffic.failed == 0, [*traffic.new_connections.failures, *traffic.keep_alive.failures]


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_a_drain_keeps_all_but_one_pod_ready_within_a_pool_of_as_many_ips_as_pods(
    drain: Drain, kind: str
):
    watched = _released(drain.releases, kind)
    measured = watched.measurement
    assert measured.min_ready is not None and measured.min_ready >= watched.replicas - 1
    assert measured.peak_ips <= watched.pool_size
    assert measured.duplicate_ips == []
    assert drain.node not in watched.pods_per_node_after
    assert sum(watched.pods_per_node_after.values()) == watched.replicas


# How soon the control plane notices a dead node: the controller manager's
# node-monitor-grace-period (50 s), plus its 5 s period, plus kube-proxy's sync.
NOTICED_WITHIN_S = 70.0


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_the_service_stops_sending_to_a_dead_nodes_pods_once_the_node_is_not_ready(
    dead_node: DeadNode, kind: str
):
    assert dead_node.pods_lost[kind] >= 1, "the dead node ran some of the release's pods"
    assert dead_node.not_ready_seconds <= NOTICED_WITHIN_S
    assert dead_node.served_dead_seconds[kind] <= NOTICED_WITHIN_S
    assert dead_node.routed_dead_seconds[kind] <= NOTICED_WITHIN_S


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_a_rollout_meeting_a_dead_nodes_pods_would_name_the_node_and_stop_early(
    dead_node: DeadNode, kind: str
):
    held = dead_node.held_by_dead_node[kind]
    assert len(held) == dead_node.pods_lost[kind], held
    assert all(f"NodeNotReady: its node {dead_node.node} is not ready" in h for h in held), held


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_recover_node_brings_the_release_back_whole_within_its_pool(dead_node: DeadNode, kind: str):
    watched = _released(dead_node.releases, kind)
    measured = watched.measurement
    assert sum(watched.pods_per_node_after.values()) == watched.replicas
    assert dead_node.node not in watched.pods_per_node_after
    assert measured.peak_ips <= watched.pool_size
    assert measured.duplicate_ips == []
    assert any("back at full strength" in line for line in dead_node.recover_output)


def test_recover_node_refuses_a_node_that_still_heartbeats(kube: Kube, node_pair: list[str]):
    done = kube.run([RECOVER_NODE, node_pair[0], "--yes"], check=False)

    assert done.returncode == Exit.REFUSED, done.stderr
    [line] = done.stderr.strip().splitlines()[1:]  # after the "using kubectl …" line
    assert f"node {node_pair[0]} still heartbeats" in line
    node = kube.get("node", node_pair[0], "")
    assert node is not None
    assert OUT_OF_SERVICE not in [taint["key"] for taint in node["spec"].get("taints", [])]


def test_recover_node_tells_a_namespace_operator_in_one_line_that_it_needs_cluster_rights(
    kube: Kube, operator: identity.Operator, operator_namespace: str, node_pair: list[str]
):
    done = run(
        [RECOVER_NODE, node_pair[0], "--namespace", operator_namespace, "--yes"],
        env=operator.env(kube),
        check=False,
    )

    assert done.returncode == Exit.FORBIDDEN, done.stderr
    [line] = done.stderr.strip().splitlines()[1:]
    assert "needs cluster rights this identity lacks (get nodes, patch nodes, get leases" in line


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


def test_a_drain_the_budget_blocks_says_so_and_names_the_pod(
    kube: Kube, namespaces: NamespaceFactory, node_pair: list[str]
):
    release = ReleaseUnderTest(kube, namespaces(group=PAIR))
    release.deploy({"replicaCount": REPLICAS})
    placed = pods_per_node(kube.objects("pods", release.namespace, release.selector))
    drained = busiest(placed)
    [other] = [name for name in node_pair if name != drained]
    # With the other node cordoned, an evicted pod's replacement has nowhere to go, so the
    # budget (one pod of the release down at a time) holds the next eviction back.
    kube.kubectl("cordon", other)
    try:
        done = kube.run(drain_command(drained, timeout_s=20), check=False)
    finally:
        kube.kubectl("uncordon", drained, other)

    said = (done.stdout + done.stderr).splitlines()
    budget = "Cannot evict pod as it would violate the pod's disruption budget"
    blocked = [line for line in said if budget in line]
    assert done.returncode != 0
    assert blocked, said
    assert all(
        'pods/"dummy-flask-app-' in line and f'-n "{release.namespace}"' in line for line in blocked
    )
