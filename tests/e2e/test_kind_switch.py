"""Scenario 3: one upgrade switches Deployment -> StatefulSet, another switches back."""

from __future__ import annotations

import pytest

from harness.core.objects import names
from harness.core.retry import wait_for, wait_until_gone
from tests.e2e.release import ReleaseUnderTest, owner_kinds

pytestmark = pytest.mark.e2e

SERVICE = "dummy-flask-app"
HEADLESS = "dummy-flask-app-headless"
SETTLE_S = 90.0


def _switch_to(release: ReleaseUnderTest, kind: str, owner: str) -> None:
    """Upgrade to `kind`; wait until only its pods are left (the old workload fully gone)."""
    release.deploy({"workload.kind": kind})

    assert [w["kind"] for w in release.workloads()] == [kind]

    def only_new_pods() -> bool:
        pods = release.pods()
        return len(pods) == 3 and owner_kinds(pods) == {owner}

    wait_for(only_new_pods, f"3 pods, all owned by a {owner}", SETTLE_S)
    if kind == "StatefulSet":
        wait_until_gone(
            lambda: names(release.kube.objects("replicasets", release.namespace, release.selector)),
            "the old Deployment's ReplicaSets to be garbage-collected",
            SETTLE_S,
        )


def test_kind_switches_both_ways_keep_the_service_and_leave_no_old_workload(
    release: ReleaseUnderTest,
):
    release.deploy({"workload.kind": "Deployment"})
    service = release.kube.get("service", SERVICE, release.namespace)
    assert service is not None

    _switch_to(release, "StatefulSet", owner="StatefulSet")
    services = release.kube.objects("services", release.namespace)
    assert names(services) == [f"Service/{SERVICE}", f"Service/{HEADLESS}"]
    assert release.workload()["spec"]["serviceName"] == HEADLESS

    _switch_to(release, "Deployment", owner="ReplicaSet")
    assert names(release.kube.objects("services", release.namespace)) == [f"Service/{SERVICE}"]
    assert not release.kube.objects("controllerrevisions", release.namespace, release.selector)

    # The Service was updated in place through both switches: same object, same clusterIP.
    after = release.kube.get("service", SERVICE, release.namespace)
    assert after is not None
    assert after["metadata"]["uid"] == service["metadata"]["uid"]
    assert after["spec"]["clusterIP"] == service["spec"]["clusterIP"]
