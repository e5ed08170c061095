"""Selectors: what they hold, what they select, and that switching kind keeps them."""

from __future__ import annotations

import pytest

from harness.chart.render import ci_values_files

SELECTOR_KEYS = {"app.kubernetes.io/name", "app.kubernetes.io/instance"}


@pytest.fixture(params=ci_values_files(), ids=lambda p: p.name)
def manifests(request, render):
    return render(values_files=[request.param])


def test_workload_selector_holds_only_name_and_instance(manifests):
    selector = manifests.workload["spec"]["selector"]["matchLabels"]
    assert set(selector) == SELECTOR_KEYS


def test_workload_selector_matches_its_pod_template(manifests):
    selector = manifests.workload["spec"]["selector"]["matchLabels"]
    assert selector.items() <= manifests.pod_template["metadata"]["labels"].items()


def test_every_service_selects_the_app_pods(manifests):
    pod_labels = manifests.pod_template["metadata"]["labels"]
    for service in manifests.of_kind("Service"):
        assert service["spec"]["selector"].items() <= pod_labels.items(), service["metadata"][
            "name"
        ]
        assert set(service["spec"]["selector"]) == SELECTOR_KEYS


def test_pod_disruption_budget_selects_the_app_pods(manifests):
    pod_labels = manifests.pod_template["metadata"]["labels"]
    for pdb in manifests.of_kind("PodDisruptionBudget"):
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_selector_does_not_change_with_the_image_tag(render):
    old = render(set={"image.tag": "1.0.0"}).workload["spec"]["selector"]
    new = render(set={"image.tag": "1.5.0"}).workload["spec"]["selector"]
    assert old == new


def test_switching_kind_leaves_every_object_both_renders_share_unchanged(render):
    deployment = render(set={"workload.kind": "Deployment"})
    statefulset = render(set={"workload.kind": "StatefulSet"})
    shared = [
        (obj, statefulset.find(obj["kind"], obj["metadata"]["name"]))
        for obj in deployment
        if obj["kind"] not in ("Deployment", "StatefulSet")
    ]
    assert sorted(o["kind"] for o, _ in shared) == [
        "Pod",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]
    for before, after in shared:
        assert after == before, before["kind"]


def test_switching_kind_keeps_the_workload_selector(render):
    deployment = render(set={"workload.kind": "Deployment"}).workload
    statefulset = render(set={"workload.kind": "StatefulSet"}).workload
    assert deployment["spec"]["selector"] == statefulset["spec"]["selector"]
    assert deployment["metadata"]["name"] == statefulset["metadata"]["name"]
