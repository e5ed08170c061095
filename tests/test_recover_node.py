"""scripts/recover-node's judgement, on objects as the API server returns them: when a node
counts as down, which pods are stuck on it and what they hold, and when a release is whole.
Its run against a real dead node is in tests/e2e/test_two_nodes.py."""

from __future__ import annotations

import datetime as dt

import pytest

from harness.ops import cli
from harness.ops.recover_node import check_down, full_strength, heartbeat_age, stuck_pods

NOW = dt.datetime(2026, 12, 5, 12, 0, 0, tzinfo=dt.UTC)


def _node(ready: str) -> dict:
    conditions = [{"type": "Ready", "status": ready}]
    return {"metadata": {"name": "n2"}, "spec": {}, "status": {"conditions": conditions}}


def _lease(seconds_ago: float, duration: int = 40) -> dict:
    renewed = NOW - dt.timedelta(seconds=seconds_ago)
    return {
        "spec": {
            "renewTime": renewed.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "leaseDurationSeconds": duration,
        }
    }


def test_a_node_whose_lease_was_renewed_within_its_duration_still_heartbeats():
    with pytest.raises(cli.Refused, match=r"node n2 still heartbeats \(its Lease was renewed 12 s"):
        check_down(_node("Unknown"), _lease(12), NOW)


def test_a_ready_node_is_refused_even_with_a_stale_lease():
    with pytest.raises(cli.Refused, match="node n2 is Ready; nothing was changed"):
        check_down(_node("True"), _lease(300), NOW)


@pytest.mark.parametrize("ready", ["Unknown", "False"])
@pytest.mark.parametrize("lease", [_lease(41), None, {"spec": {}}], ids=["stale", "none", "empty"])
def test_a_node_not_ready_with_a_stale_or_missing_lease_is_down(ready: str, lease):
    check_down(_node(ready), lease, NOW)  # no Refused


def test_the_heartbeats_age_is_read_from_the_leases_renew_time():
    assert heartbeat_age(_lease(75.5), NOW) == pytest.approx(75.5)
    assert heartbeat_age(None, NOW) is None


def test_only_the_pods_on_the_node_are_stuck_with_the_pool_ip_each_holds():
    pods = [
        _pod("a-0", "n2", {"quantil.com/ipool": "p", "ipool.rehearsal.local/ip": "203.0.113.10"}),
        _pod("a-1", "n3", {"quantil.com/ipool": "p", "ipool.rehearsal.local/ip": "203.0.113.11"}),
        _pod("a-2", "n2", {}, deleting=True),
    ]

    stuck = stuck_pods(pods, "n2")

    assert [(p.name, p.pool, p.ip, p.terminating) for p in stuck] == [
        ("a-0", "p", "203.0.113.10", False),
        ("a-2", "", "", True),
    ]
    assert str(stuck[0]) == "pod a-0 (not terminating; holds 203.0.113.10 of pool p)"


def _pod(name: str, node: str, annotations: dict, deleting: bool = False) -> dict:
    metadata = {"name": name, "annotations": annotations}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-05T11:59:00Z"
    return {"metadata": metadata, "spec": {"nodeName": node}}


@pytest.mark.parametrize(
    ("ready", "observed", "whole"),
    [(3, 2, True), (2, 2, False), (3, 1, False)],
)
def test_a_release_is_whole_when_its_workload_has_every_replica_ready_in_its_latest_spec(
    ready: int, observed: int, whole: bool
):
    workload = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 3},
        "status": {"readyReplicas": ready, "observedGeneration": observed},
    }
    assert full_strength([workload]) is whole
    assert full_strength([]) is False
