"""The ipool toggle: the platform annotation on the pods, and nowhere else."""

from __future__ import annotations

import pytest

KEY = "quantil.com/ipool"


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_ipool_annotation_is_on_the_pod_template_with_the_default_pool(render, kind):
    manifests = render(set={"workload.kind": kind, "ipool.enabled": True})
    annotations = manifests.pod_template["metadata"]["annotations"]
    assert annotations[KEY] == "dummy-flask-app-ipool"


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_ipool_annotation_is_absent_when_disabled(render, kind):
    manifests = render(set={"workload.kind": kind})
    assert KEY not in manifests.pod_template["metadata"].get("annotations", {})


def test_ipool_annotation_is_never_on_the_workload_or_services(render):
    manifests = render(set={"workload.kind": "StatefulSet", "ipool.enabled": True})
    for obj in manifests:
        assert KEY not in obj["metadata"].get("annotations", {}), obj["kind"]


def test_ipool_pool_name_follows_the_release_name(render):
    manifests = render(release="edge", set={"ipool.enabled": True})
    annotations = manifests.pod_template["metadata"]["annotations"]
    assert annotations[KEY] == "edge-dummy-flask-app-ipool"


def test_ipool_name_and_annotation_key_can_be_set(render):
    values = {"ipool": {"enabled": True, "name": "pool-a", "annotationKey": "example.com/pool"}}
    annotations = render(values=values).pod_template["metadata"]["annotations"]
    assert annotations == {"example.com/pool": "pool-a"}


def test_ipool_annotation_sits_beside_other_pod_annotations(render):
    values = {"ipool": {"enabled": True}, "podAnnotations": {"example.com/a": "b"}}
    annotations = render(values=values).pod_template["metadata"]["annotations"]
    assert annotations == {KEY: "dummy-flask-app-ipool", "example.com/a": "b"}


def test_ipool_annotation_is_not_on_the_helm_test_pod(render):
    pod = render(set={"ipool.enabled": True}).get("Pod")
    assert KEY not in pod["metadata"].get("annotations", {})
