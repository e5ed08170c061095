"""What makes a rollout count as stalled, and what the operator reads then.

These read pod and event objects shaped as the API server returns them; the e2e suite
checks the same on the cluster (tests/e2e/test_deploy_stalls.py, test_ipool_rollouts.py).
"""

from __future__ import annotations

import pytest

from harness.chart.plan import Plan
from harness.ops.stall import Held, fingerprint, held_pods, stall_message


def pod(
    name: str,
    *,
    node: str | None = "node",
    phase: str = "Running",
    ready: bool = True,
    waiting: str | None = None,
    deleting: bool = False,
) -> dict:
    metadata = {"name": name, "uid": f"uid-{name}"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-27T10:00:00Z"
    status = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [
            {"state": {"waiting": {"reason": waiting, "message": f"{waiting} details"}}}
            if waiting
            else {"state": {"running": {}}}
        ],
    }
    return {"metadata": metadata, "spec": {"nodeName": node} if node else {}, "status": status}


def event(name: str, reason: str, message: str, at: str = "2026-11-27T10:00:00Z") -> dict:
    return {
        "involvedObject": {"name": name, "uid": f"uid-{name}"},
        "reason": reason,
        "message": message,
        "lastTimestamp": at,
    }


NO_IP = "Can't allocate ip from ipool p.Error: ... ipool p have not freeip"


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff"])
def test_a_container_waiting_for_a_reason_that_does_not_pass_holds_its_pod(reason):
    held = held_pods([pod("a", phase="Pending", ready=False, waiting=reason)], [])
    assert held == [Held("a", reason, f"{reason} details")]


def test_a_pod_waiting_for_a_free_ip_is_held_with_the_platforms_latest_text():
    events = [
        event("a", "FailedSchedulingIP", "older", at="2026-11-27T09:00:00Z"),
        event("a", "FailedSchedulingIP", NO_IP),
    ]
    held = held_pods([pod("a", node=None, phase="Pending", ready=False)], events)
    assert held == [Held("a", "FailedSchedulingIP", NO_IP)]


def test_an_unschedulable_pod_is_held():
    events = [event("a", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.")]
    held = held_pods([pod("a", node=None, phase="Pending", ready=False)], events)
    assert [h.reason for h in held] == ["Unschedulable"]


def test_a_running_pod_failing_its_readiness_probe_is_held():
    events = [
        event("a", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500")
    ]
    held = held_pods([pod("a", ready=False)], events)
    assert held == [Held("a", "NotReady", events[0]["message"])]


def test_starting_ready_and_terminating_pods_hold_nothing():
    events = [event("b", "Unhealthy", "Readiness probe failed: connection refused")]
    pods = [pod("a"), pod("b", deleting=True, ready=False), pod("c", ready=False)]
    assert held_pods(pods, events) == []


def test_a_pod_on_a_node_marked_not_ready_holds_the_rollout_even_while_terminating():
    events = [event(name, "NodeNotReady", "Node is not ready") for name in ("a", "b")]
    pods = [
        pod("a", node="n2", ready=False),
        pod("b", node="n2", ready=False, deleting=True),
        pod("c", node="n3"),
    ]
    assert held_pods(pods, events) == [
        Held("a", "NodeNotReady", "its node n2 is not ready", "n2"),
        Held("b", "NodeNotReady", "its node n2 is not ready", "n2"),
    ]


def test_a_pod_ready_again_after_its_node_came_back_holds_nothing():
    events = [event("a", "NodeNotReady", "Node is not ready")]
    assert held_pods([pod("a", node="n2")], events) == []


def test_a_dead_node_stall_names_the_node_and_recover_node_besides_the_pool():
    plan = Plan(kind="Deployment", replicas=3, peak_pods=4, pool="p", pool_size=3)
    held = [
        Held("app-old", "NodeNotReady", "its node n2 is not ready", "n2"),
        Held("app-new", "FailedSchedulingIP", NO_IP),
    ]
    message = stall_message("deployment/app", 30, held, plan)
    assert "pod app-old: NodeNotReady: its node n2 is not ready" in message
    assert "scripts/recover-node n2" in message and "with its pool IP" in message
    assert "\n" not in message


def test_progress_changes_when_a_pod_becomes_ready_or_a_count_moves():
    workload = {"status": {"replicas": 3, "updatedReplicas": 1, "readyReplicas": 3}}
    before = fingerprint(workload, [pod("a", ready=False)])
    assert fingerprint(workload, [pod("a", ready=False)]) == before
    assert fingerprint(workload, [pod("a")]) != before
    moved = {"status": {**workload["status"], "updatedReplicas": 2}}
    assert fingerprint(moved, [pod("a", ready=False)]) != before


def test_an_ip_stall_names_the_plans_numbers_and_the_ways_out():
    plan = Plan(kind="Deployment", replicas=3, peak_pods=4, pool="p", pool_size=4)
    message = stall_message(
        "deployment/app", 30, [Held("app-x", "FailedSchedulingIP", NO_IP)], plan
    )
    assert message.startswith("the rollout of deployment/app stalled: nothing moved for 30 s")
    assert "pod app-x: FailedSchedulingIP: " + NO_IP in message
    assert "needs up to 4 IPs at once" in message and "workload.kind=StatefulSet" in message
    assert "\n" not in message


def test_other_stalls_do_not_mention_the_pool():
    plan = Plan(kind="Deployment", replicas=3, peak_pods=4, pool="p", pool_size=4)
    message = stall_message("deployment/app", 30, [Held("a", "ImagePullBackOff", "x")], plan)
    assert "IPs" not in message
