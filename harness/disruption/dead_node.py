"""A node that dies under the app, as a power loss would, and the release brought back.

`dead_node_under_load` installs one release of each kind (harness.disruption.releases) on a
group of two nodes and, under load, powers off the node that runs the most of their pods
(harness.cluster.node.Node.power_off: its network falls silent, every process of it is
killed at once). It measures when the node was marked NotReady and, for each release, how
long the Service still sent requests to the dead pods (until no endpoint on the node was
Ready, and until kube-proxy where the load runs stopped routing to them) and how many
failed. With `left_alone_s`, nobody acts for that long after the node is NotReady: it notes
when the control plane evicted the dead pods (their 300 s `unreachable` toleration), what
was left of each release at the end, the dead pods and the IPs they hold, and what their
replacements did. Then, as the cluster admin who notices, it runs scripts/recover-node for
each release and measures when each is whole again. The node is started afresh afterwards,
so the group is whole for what comes next.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.chart.render import DEFAULT_RELEASE
from harness.cluster.local import LocalCluster
from harness.core.objects import Obj, is_ready
from harness.core.proc import run
from harness.core.retry import WaitTimeout, wait_for
from harness.core.tools import ROOT
from harness.disruption.releases import Watched, busiest_node, installed, under_load
from harness.ipool.scenarios import Rehearsal
from harness.ops.recover_node import stuck_pods
from harness.ops.stall import NODE_REASON, held_pods
from harness.traffic.client import REQUEST_TIMEOUT_S

RECOVER_NODE = ROOT / "scripts" / "recover-node"
NOT_READY_TIMEOUT_S = 120.0
# The control plane records NodeNotReady on each pod just after it marks the node NotReady.
POD_EVENTS_TIMEOUT_S = 30.0
POLL_S = 0.5


@dataclass
class LeftAlone:
    """One release while nobody acted on its dead node."""

    # seconds from the power-off until every pod on the dead node was marked for deletion
    # (None: not within the wait)
    evicted_seconds: float | None = None
    ready_at_end: int = 0  # Ready pods when the wait ended
    stuck: list[str] = field(default_factory=list)  # the dead node's pods, with their IPs
    replacements: list[str] = field(default_factory=list)  # pods made since, and their state


@dataclass
class DeadNode:
    """One node's death: when the cluster noticed, and what each release saw."""

    node: str
    not_ready_seconds: float  # from the power-off until the node was no longer Ready
    recovered_at_seconds: float  # when scripts/recover-node was started
    releases: list[Watched]
    pods_lost: dict[str, int] = field(default_factory=dict)  # kind -> pods on the dead node
    # kind -> seconds from the power-off until no endpoint on the dead node was Ready
    served_dead_seconds: dict[str, float] = field(default_factory=dict)
    # kind -> seconds until kube-proxy where the load runs sent nothing to the dead pods
    routed_dead_seconds: dict[str, float] = field(default_factory=dict)
    # kind -> requests that failed later than a request's timeout after kube-proxy stopped
    # routing to the dead pods, each with when (seconds from the power-off) and why
    failed_after_routing_stopped: dict[str, list[str]] = field(default_factory=dict)
    recover_output: list[str] = field(default_factory=list)
    # kind -> what a rollout's stall watch (harness.ops.stall) reads of the dead node's pods
    held_by_dead_node: dict[str, list[str]] = field(default_factory=dict)
    left_alone_seconds: float = 0.0  # how long after NotReady nobody acted
    left_alone: dict[str, LeftAlone] = field(default_factory=dict)  # kind -> what it did


def _serving_on(rehearsal: Rehearsal, watched: Watched, node: str) -> bool:
    """Whether the release's Service still has a Ready endpoint on `node`."""
    slices = rehearsal.kube.objects(
        "endpointslices.discovery.k8s.io",
        watched.namespace,
        f"kubernetes.io/service-name={DEFAULT_RELEASE}",
    )
    return any(
        endpoint.get("nodeName") == node and endpoint.get("conditions", {}).get("ready")
        for piece in slices
        for endpoint in piece.get("endpoints") or []
    )


def _routed_to(local: LocalCluster, ips: Sequence[str]) -> bool:
    """Whether kube-proxy's rules where the load runs (the first node's namespace) still send
    Service traffic to any of `ips`."""
    rules = run(local.namespaces.enter(["iptables-save", "-t", "nat"])).stdout
    return any(f"--to-destination {ip}:" in rules for ip in ips)


def _held_by_node(rehearsal: Rehearsal, watched: Watched, node: str) -> list[str]:
    """Wait until a stall watch would name every pod of `watched` on `node` as held by its
    dead node, as a rollout meeting them would; what it reads."""

    def held() -> list[str] | None:
        pods = watched.pods(rehearsal)
        on_node = {p["metadata"]["name"] for p in pods if p["spec"].get("nodeName") == node}
        events = rehearsal.kube.objects("events", watched.namespace)
        found = [h for h in held_pods(pods, events) if h.reason == NODE_REASON]
        return [str(h) for h in found] if {h.pod for h in found} >= on_node else None

    what = f"{NODE_REASON} on the pods of {watched.kind} on {node}"
    return wait_for(held, what, POD_EVENTS_TIMEOUT_S, 1.0)


def _pod_state(pod: Obj) -> str:
    """`name: phase`, and why a pod that is not Ready waits."""
    status = pod.get("status", {})
    why = [f"gated by {g['name']}" for g in pod["spec"].get("schedulingGates") or []]
    why += [
        f"{c['type']} {c.get('reason', c['status'])}"
        for c in status.get("conditions") or []
        if c["type"] == "PodScheduled" and c["status"] != "True"
    ]
    ready = "Ready" if is_ready(pod) else status.get("phase", "Pending")
    return f"{pod['metadata']['name']}: {'; '.join([ready, *why])}"


def _left_alone(
    rehearsal: Rehearsal, releases: Sequence[Watched], node: str, began: float, until: float
) -> dict[str, LeftAlone]:
    """Watch each release until `until` (a time.monotonic()) while nobody acts."""
    before = {w.kind: {p["metadata"]["uid"] for p in w.pods(rehearsal)} for w in releases}
    seen = {w.kind: LeftAlone() for w in releases}
    pods: dict[str, list[Obj]] = {}
    while True:
        pods = {w.kind: w.pods(rehearsal) for w in releases}
        for kind, found in pods.items():
            dead = [p for p in found if p["spec"].get("nodeName") == node]
            evicted = dead and all("deletionTimestamp" in p["metadata"] for p in dead)
            if evicted and seen[kind].evicted_seconds is None:
                seen[kind].evicted_seconds = round(time.monotonic() - began, 1)
        if time.monotonic() >= until:
            break
        time.sleep(2.0)
    for kind, found in pods.items():
        seen[kind].ready_at_end = sum(1 for p in found if is_ready(p))
        seen[kind].stuck = [str(pod) for pod in stuck_pods(found, node)]
        seen[kind].replacements = [
            _pod_state(p) for p in found if p["metadata"]["uid"] not in before[kind]
        ]
    return seen


def dead_node_under_load(
    local: LocalCluster,
    rehearsal: Rehearsal,
    kinds: Sequence[str],
    group: str,
    left_alone_s: float = 0.0,
) -> DeadNode:
    """The module doc's death and recovery, for one release of each of `kinds` on the nodes
    of `group`; with `left_alone_s`, nobody acts that long after the node is NotReady."""
    kube = rehearsal.kube
    with installed(rehearsal, "dead-node", kinds) as releases:
        name = busiest_node(releases)
        [index] = [i for i in local.worker_indexes() if local.worker(i).name == name]
        lost = {w.kind: w.pods_per_node_before.get(name, 0) for w in releases}
        dead_ips = {
            w.kind: [
                p["status"]["podIP"] for p in w.pods(rehearsal) if p["spec"]["nodeName"] == name
            ]
            for w in releases
        }
        # what -> seconds from the power-off until it was seen
        seen: dict[str, float] = {}
        held: dict[str, list[str]] = {}
        left: dict[str, LeftAlone] = {}
        output: list[str] = []
        try:
            with under_load(local, rehearsal, releases):
                began = time.monotonic()
                local.worker(index).power_off()

                def noticed() -> bool:
                    since = round(time.monotonic() - began, 1)
                    if "node" not in seen and not is_ready(kube.get("node", name, "") or {}):
                        seen["node"] = since
                    for w in releases:
                        if f"endpoints {w.kind}" not in seen and not _serving_on(
                            rehearsal, w, name
                        ):
                            seen[f"endpoints {w.kind}"] = since
                        if f"rules {w.kind}" not in seen and not _routed_to(
                            local, dead_ips[w.kind]
                        ):
                            seen[f"rules {w.kind}"] = since
                    return len(seen) == 2 * len(releases) + 1

                try:
                    wait_for(
                        noticed, f"node {name} to be noticed dead", NOT_READY_TIMEOUT_S, POLL_S
                    )
                except WaitTimeout as timeout:
                    raise WaitTimeout(f"{timeout}; seconds until seen: {seen}") from None
                not_ready = seen["node"]
                held = {
                    w.kind: _held_by_node(rehearsal, w, name) if lost[w.kind] else []
                    for w in releases
                }
                if left_alone_s:
                    until = began + not_ready + left_alone_s
                    left = _left_alone(rehearsal, releases, name, began, until)
                recovering = round(time.monotonic() - began, 1)
                for watched in releases:
                    done = kube.run(
                        [
                            RECOVER_NODE,
                            name,
                            "--namespace",
                            watched.namespace,
                            "--yes",
                            "--timeout",
                            "3m",
                        ],
                        timeout=240,
                    )
                    output += (done.stdout + done.stderr).splitlines()
                for watched in releases:
                    watched.settle(rehearsal, began)
        finally:
            local.remove_node(index)
            local.add_node(index, group)
    late = {
        w.kind: [
            f"{at:.1f} s: {why}"
            for at, why in w.failures_since(began)
            if at > seen[f"rules {w.kind}"] + REQUEST_TIMEOUT_S
        ]
        for w in releases
    }
    endpoints = {w.kind: seen[f"endpoints {w.kind}"] for w in releases}
    rules = {w.kind: seen[f"rules {w.kind}"] for w in releases}
    return DeadNode(
        name,
        not_ready,
        recovering,
        releases,
        lost,
        endpoints,
        rules,
        late,
        output,
        held,
        left_alone_s,
        left,
    )
