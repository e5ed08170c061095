"""Autoscaling on a running release: turning it on, and switching kind with it on, keep the
pods that run (issue 20; helm/helm#12650 is how turning it on used to dip to one pod).

The cluster runs no metrics server, so the autoscaler only keeps the count within its bounds:
what the recorder sees is the chart's and the hand-over's doing, not the autoscaler's.
"""

from __future__ import annotations

import pytest

from harness.core.retry import wait_for
from harness.core.tools import tool_path
from harness.ipool.recorder import Recorder
from harness.kube.api import KubeAPI
from harness.ops.deploy import DeployRequest, commands
from harness.ops.handover import switch_kind
from tests.e2e.release import ReleaseUnderTest, owner_kinds

pytestmark = pytest.mark.e2e

AUTOSCALING = {
    "autoscaling.enabled": "true",
    "autoscaling.minReplicas": "2",
    "autoscaling.maxReplicas": "4",
}
SELECTOR = {
    "app.kubernetes.io/name": "dummy-flask-app",
    "app.kubernetes.io/instance": "dummy-flask-app",
}
SETTLE_S = 90.0


def _autoscaled_release(release: ReleaseUnderTest) -> DeployRequest:
    """Three Ready pods of a Deployment, then autoscaling turned on over them."""
    release.deploy({"replicaCount": "3"})
    target = DeployRequest(
        release.name, release.namespace, set={"replicaCount": "3", **AUTOSCALING}
    )
    for command in commands(target, tool_path("helm"), tool_path("kubectl")):
        release.kube.run(command)
    return target


def test_turning_autoscaling_on_keeps_every_running_pod(release: ReleaseUnderTest):
    release.deploy({"replicaCount": "3"})
    before = {pod["metadata"]["uid"] for pod in release.pods()}
    api = KubeAPI(release.kube.kubeconfig)
    target = DeployRequest(release.name, release.namespace, set=AUTOSCALING)
    with Recorder(api, release.namespace, SELECTOR) as recorder:
        for command in commands(target, tool_path("helm"), tool_path("kubectl")):
            release.kube.run(command)
    assert recorder.measurement.min_ready == 3, recorder.measurement.as_row()
    assert release.workload()["spec"]["replicas"] == 3
    assert {pod["metadata"]["uid"] for pod in release.pods()} == before
    autoscaler = release.kube.get("horizontalpodautoscaler", release.name, release.namespace)
    assert autoscaler is not None and autoscaler["spec"]["scaleTargetRef"]["kind"] == "Deployment"


def test_a_hand_over_with_autoscaling_on_keeps_all_but_one_pod_ready(
    release: ReleaseUnderTest,
):
    target = _autoscaled_release(release)
    api = KubeAPI(release.kube.kubeconfig)
    with Recorder(api, release.namespace, SELECTOR) as recorder:
        switch_kind(
            target, "StatefulSet", tool_path("helm"), tool_path("kubectl"), release.kube.env()
        )
    m = recorder.measurement
    assert m.min_ready is not None and m.min_ready >= 2, m.as_row()
    assert m.peak_pods <= 3, m.as_row()
    workload = release.workload()
    assert (workload["kind"], workload["spec"]["replicas"]) == ("StatefulSet", 3)
    wait_for(
        lambda: owner_kinds(release.pods()) == {"StatefulSet"} and len(release.pods()) == 3,
        "3 pods, all the StatefulSet's",
        SETTLE_S,
    )
    autoscaler = release.kube.get("horizontalpodautoscaler", release.name, release.namespace)
    assert autoscaler is not None
    assert autoscaler["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"
