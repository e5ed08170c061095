"""Tell a rollout that no longer progresses from one that is only slow, while helm waits.

helm's `--wait` and `kubectl rollout status` wait out their whole `--timeout` (minutes) for a
rollout that cannot finish: a pod waiting for a free IP of its pool, an image that cannot be
pulled, a container that keeps crashing. `StallWatch` looks at the release's workload, its
pods and their events every few seconds. A rollout has stalled when nothing of it changed for
`stall_seconds` (no pod created, gone, scheduled, started or Ready, no replica count moved)
and a pod is held by something that will not pass by itself; the error then names the pod,
the reason with the platform's or the kubelet's own text, and for a pool the rollout plan's
numbers and the ways out. A pod whose node stopped answering (the control plane's
`NodeNotReady` event on the pod, which a namespace operator may read) holds a rollout too,
even while it is terminating: it stays until the node is back or its pods are deleted by
force, so the error names the node and scripts/recover-node.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.chart.plan import Plan, plan_for
from harness.core.objects import Obj, is_ready, label_selector
from harness.core.proc import run
from harness.ops.cli import Exit, OperatorError, forbidden_in

# Waiting reasons of a container that do not pass without a change to the release.
STUCK_CONTAINER_REASONS = (
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
)
IP_REASON = "FailedSchedulingIP"  # the IP-pool platform's event
# The node lifecycle controller's event on each pod of a node it marks NotReady.
NODE_REASON = "NodeNotReady"
WAYS_OUT = (
    "ways out: workload.kind=StatefulSet (replaces pods one at a time), one spare IP in the "
    "pool (ipool.size=replicaCount+1), or scripts/rollout-two-phase"
)


class StallError(OperatorError):
    """The rollout stopped progressing; the message says where and why."""

    exit_code = Exit.STALLED


@dataclass(frozen=True)
class Held:
    """A pod the rollout waits for, and what holds it."""

    pod: str
    reason: str
    message: str
    node: str = ""  # with NODE_REASON: the node that stopped answering

    def __str__(self) -> str:
        return f"pod {self.pod}: {self.reason}: {self.message}"


def _latest_event(events: Sequence[Obj], uid: str, reasons: Sequence[str]) -> Obj | None:
    found = [
        e for e in events if e["involvedObject"].get("uid") == uid and e.get("reason") in reasons
    ]
    return max(
        found, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "", default=None
    )


def held_pods(pods: Sequence[Obj], events: Sequence[Obj]) -> list[Held]:
    """The pods held by something that does not pass by itself: a terminating pod only by
    its dead node."""
    held = []
    for pod in pods:
        name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
        status = pod.get("status", {})
        node = pod.get("spec", {}).get("nodeName")
        if node and not is_ready(pod) and _latest_event(events, uid, (NODE_REASON,)):
            held.append(Held(name, NODE_REASON, f"its node {node} is not ready", node))
            continue
        if "deletionTimestamp" in pod["metadata"]:
            continue
        waiting = [
            s["state"]["waiting"]
            for s in status.get("containerStatuses", [])
            if s.get("state", {}).get("waiting", {}).get("reason") in STUCK_CONTAINER_REASONS
        ]
        if waiting:
            held.append(Held(name, waiting[0]["reason"], waiting[0].get("message", "")))
        elif not pod.get("spec", {}).get("nodeName"):
            event = _latest_event(events, uid, (IP_REASON, "FailedScheduling"))
            if event is not None:
                reason = event["reason"] if event["reason"] == IP_REASON else "Unschedulable"
                held.append(Held(name, reason, " ".join(event["message"].split())))
        elif status.get("phase") == "Running" and not is_ready(pod):
            event = _latest_event(events, uid, ("Unhealthy",))
            if event is not None and "Readiness" in event["message"]:
                held.append(Held(name, "NotReady", event["message"]))
    return held


def fingerprint(workload: Obj | None, pods: Sequence[Obj]) -> tuple:
    """What changes while a rollout moves on: replica counts, and each pod's stage."""
    status = (workload or {}).get("status", {})
    counts = tuple(
        status.get(key, 0)
        for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    )
    stages = sorted(
        (
            pod["metadata"]["uid"],
            "deletionTimestamp" in pod["metadata"],
            bool(pod.get("spec", {}).get("nodeName")),
            pod.get("status", {}).get("phase"),
            is_ready(pod),
        )
        for pod in pods
    )
    return counts, tuple(stages)


def stall_message(resource: str, seconds: float, held: Sequence[Held], plan: Plan | None) -> str:
    """The one line an operator reads when a rollout stalled."""
    parts = [f"the rollout of {resource} stalled: nothing moved for {seconds:g} s", *map(str, held)]
    if plan is not None and plan.pool and any(h.reason == IP_REASON for h in held):
        parts.append(
            f"this {plan.kind} rollout needs up to {plan.peak_ips} IPs at once and the chart was "
            f"told pool {plan.pool} holds {plan.pool_size} (ipool.size), but none is free for "
            "the new pod: check ipool.size against the pool"
        )
        parts.append(WAYS_OUT)
    dead = sorted({h.node for h in held if h.reason == NODE_REASON})
    if dead:
        parts.append(
            f"a pod on a node that stopped answering stays, with its pool IP, until the node"
            f" is back; if {' and '.join(dead)} will not come back, a cluster admin runs"
            f" scripts/recover-node {dead[0]} (README: A node died), then run this command again"
        )
    return "; ".join(parts)


class StallWatch:
    """Watches one rendered workload's rollout in a namespace through kubectl."""

    def __init__(
        self,
        kubectl: Path | str,
        workload: Obj,
        namespace: str,
        stall_seconds: float,
        *,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float],
    ) -> None:
        self._kubectl = str(kubectl)
        self._namespace = namespace
        self._kind = workload["kind"]
        self._name = workload["metadata"]["name"]
        self._selector = label_selector(workload["spec"]["selector"]["matchLabels"])
        self._plan = plan_for(workload)
        self._stall = stall_seconds
        self._env = env
        self._clock = clock
        self._last: tuple | None = None
        self._since = clock()

    @property
    def resource(self) -> str:
        return f"{self._kind.lower()}/{self._name}"

    def _get(self, *args: str) -> Obj | None:
        """`kubectl get ... --output json`, or None while the object does not exist or the
        API server does not answer; Forbidden when the identity may not read it, since a
        watch that cannot see the events would never find a stall."""
        done = run(
            [self._kubectl, "--namespace", self._namespace, "get", *args, "--output", "json"],
            env=None if self._env is None else dict(self._env),
            check=False,
        )
        if done.returncode == 0:
            return json.loads(done.stdout)
        refused = forbidden_in(done.stderr)
        if refused is not None:
            raise refused
        return None

    def _items(self, *args: str) -> list[Obj]:
        return (self._get(*args) or {}).get("items", [])

    def check(self) -> None:
        """Look once; StallError when the rollout stalled (module doc)."""
        workload = self._get(self.resource)
        pods = self._items("pods", "--selector", self._selector)
        now = self._clock()
        seen = fingerprint(workload, pods)
        if seen != self._last:
            self._last, self._since = seen, now
            return
        if now - self._since < self._stall:
            return
        held = held_pods(pods, self._items("events"))
        if held:
            raise StallError(stall_message(self.resource, self._stall, held, self._plan))
