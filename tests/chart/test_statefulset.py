"""StatefulSet mode: the recommended way to run with a fixed IP pool."""

from __future__ import annotations

import pytest

STATEFULSET = {"workload.kind": "StatefulSet"}


@pytest.fixture
def manifests(render):
    return render(set=STATEFULSET)


def headless_services(manifests):
    return [s for s in manifests.of_kind("Service") if s["spec"].get("clusterIP") == "None"]


def test_statefulset_mode_renders_a_statefulset_and_no_deployment(manifests):
    assert manifests.workload["kind"] == "StatefulSet"
    assert manifests.of_kind("Deployment") == []


def test_statefulset_service_name_is_the_headless_service(manifests):
    [headless] = headless_services(manifests)
    assert manifests.workload["spec"]["serviceName"] == headless["metadata"]["name"]
    assert headless["metadata"]["name"] == "dummy-flask-app-headless"


def test_headless_service_selects_the_statefulset_pods(manifests):
    [headless] = headless_services(manifests)
    pod_labels = manifests.pod_template["metadata"]["labels"]
    assert headless["spec"]["selector"].items() <= pod_labels.items()


def test_headless_service_serves_port_80_to_the_http_port(manifests):
    [headless] = headless_services(manifests)
    assert headless["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]


def test_statefulset_mode_keeps_the_ordinary_cluster_ip_service(manifests):
    service = manifests.get("Service", "dummy-flask-app")
    assert "clusterIP" not in service["spec"]
    assert service["spec"]["type"] == "ClusterIP"


def test_statefulset_replaces_pods_one_at_a_time_by_default(manifests):
    spec = manifests.workload["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate"}
    assert "strategy" not in spec


def test_statefulset_keeps_replicas_resources_and_pull_secret(manifests):
    assert manifests.workload["spec"]["replicas"] == 3
    assert manifests.app_container["resources"]["limits"] == {
        "cpu": "200m",
        "memory": "128Mi",
        "ephemeral-storage": "128Mi",
    }
    assert manifests.pod_template["spec"]["imagePullSecrets"] == [{"name": "myregistrykey"}]


def test_statefulset_update_strategy_is_passed_through(render):
    update = {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}
    spec = render(values={"workload": {"kind": "StatefulSet"}, "updateStrategy": update}).workload[
        "spec"
    ]
    assert spec["updateStrategy"] == update


def test_deployment_strategy_value_does_not_leak_into_a_statefulset(render):
    values = {"workload": {"kind": "StatefulSet"}, "strategy": {"type": "Recreate"}}
    assert "strategy" not in render(values=values).workload["spec"]


def test_statefulset_update_strategy_does_not_leak_into_a_deployment(render):
    assert "updateStrategy" not in render().workload["spec"]
    assert "serviceName" not in render().workload["spec"]


def test_both_kinds_share_one_pod_template(render):
    deployment = render().pod_template
    statefulset = render(set=STATEFULSET).pod_template
    assert deployment == statefulset


def test_statefulset_with_ipool_in_opseng_is_what_the_operations_write_up_asked_for(render):
    """`helm template dummy-flask-app … -n opseng --set workload.kind=StatefulSet
    --set ipool.enabled=true`: the write-up's hand-made manifests, as a release."""
    manifests = render(namespace="opseng", set={**STATEFULSET, "ipool.enabled": True})
    headless = manifests.get("Service", manifests.workload["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    annotations = manifests.pod_template["metadata"]["annotations"]
    assert annotations == {"quantil.com/ipool": "dummy-flask-app-ipool"}
    assert {obj["metadata"]["namespace"] for obj in manifests} == {"opseng"}
