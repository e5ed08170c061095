"""How operators change the release: --set, values files, -n, names."""

from __future__ import annotations

import pytest

from harness.chart.render import CI_VALUES_DIR

IMAGE_1_5_0 = "registry-qcc.quantil.com/oe-tools/dummy-flask-app:1.5.0"


def test_set_image_tag_changes_the_image(render):
    assert render(set={"image.tag": "1.0.0"}).app_container["image"].endswith(":1.0.0")
    assert render(set={"image.tag": "1.5.0"}).app_container["image"] == IMAGE_1_5_0


def test_values_file_image_tag_changes_the_image(render, tmp_path):
    values = tmp_path / "prod.yaml"
    values.write_text('image:\n  tag: "1.5.0"\n')
    assert render(values_files=[values]).app_container["image"] == IMAGE_1_5_0


def test_set_wins_over_a_values_file(render, tmp_path):
    values = tmp_path / "prod.yaml"
    values.write_text('image:\n  tag: "1.4.0"\n')
    manifests = render(values_files=[values], set={"image.tag": "1.5.0"})
    assert manifests.app_container["image"] == IMAGE_1_5_0


def test_version_label_follows_the_image_tag(render):
    workload = render(set={"image.tag": "1.0.0"}).workload
    assert workload["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0.0"


@pytest.mark.parametrize("namespace", ["opseng", "staging"])
def test_every_object_lands_in_the_release_namespace(render, namespace):
    for obj in render(namespace=namespace, set={"workload.kind": "StatefulSet"}):
        assert obj["metadata"]["namespace"] == namespace, obj["kind"]


def test_objects_are_named_after_the_release_when_it_lacks_the_chart_name(render):
    manifests = render(release="web")
    assert manifests.workload["metadata"]["name"] == "web-dummy-flask-app"


def test_fullname_override_names_every_app_object(render):
    manifests = render(set={"fullnameOverride": "hello", "workload.kind": "StatefulSet"})
    assert manifests.workload["metadata"]["name"] == "hello"
    names = sorted(s["metadata"]["name"] for s in manifests.of_kind("Service"))
    assert names == ["hello", "hello-headless"]


def test_long_release_names_are_cut_to_valid_object_names(render):
    """A Deployment's name may use all 63 characters; a StatefulSet's may not (52), and is
    refused instead (tests/chart/test_bad_values.py)."""
    release = "a-long-release-name-of-fifty-three-characters-exactly"  # helm allows 53
    manifests = render(release=release)
    for obj in manifests:
        assert len(obj["metadata"]["name"]) <= 63
    assert len(manifests.workload["metadata"]["name"]) == 63


def test_a_statefulset_with_a_52_character_name_keeps_its_headless_service_apart(render):
    manifests = render(set={"workload.kind": "StatefulSet", "fullnameOverride": "s" * 52})
    for obj in manifests:
        assert len(obj["metadata"]["name"]) <= 63
    assert manifests.workload["spec"]["serviceName"] == "s" * 52 + "-headless"


def test_custom_resources_values_file_overrides_resources_and_workers(render):
    manifests = render(values_files=[CI_VALUES_DIR / "custom-resources-values.yaml"])
    container = manifests.app_container
    assert container["resources"]["limits"] == {
        "cpu": "1",
        "memory": "256Mi",
        "ephemeral-storage": "128Mi",
    }
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["WEB_CONCURRENCY"] == "2"
    assert manifests.workload["spec"]["replicas"] == 2
    assert manifests.get("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_pod_labels_and_annotations_reach_the_pod_template(render):
    template = render(
        values={"podLabels": {"team": "opseng"}, "podAnnotations": {"example.com/note": "hi"}}
    ).pod_template
    assert template["metadata"]["labels"]["team"] == "opseng"
    assert template["metadata"]["annotations"] == {"example.com/note": "hi"}


def test_scheduling_constraints_reach_the_pod(render):
    values = {
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"podAntiAffinity": {}},
    }
    pod = render(values=values).pod_template["spec"]
    assert pod["nodeSelector"] == values["nodeSelector"]
    assert pod["tolerations"] == values["tolerations"]
    assert pod["affinity"] == values["affinity"]


def test_deployment_strategy_is_passed_through(render):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert render(values={"strategy": strategy}).workload["spec"]["strategy"] == strategy


def test_pull_secrets_can_be_replaced(render):
    pod = render(values={"imagePullSecrets": [{"name": "other"}]}).pod_template["spec"]
    assert pod["imagePullSecrets"] == [{"name": "other"}]


def test_a_single_pod_gets_no_disruption_budget_that_would_block_drains(render):
    assert render(set={"replicaCount": 1}).of_kind("PodDisruptionBudget") == []


def test_the_disruption_budget_can_be_turned_off(render):
    assert render(set={"podDisruptionBudget.enabled": False}).of_kind("PodDisruptionBudget") == []
