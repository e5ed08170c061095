"""The fast strict Kubernetes validator (tests/support/kube_schemas.py) agrees with
kubernetes-validate, whose schema files it uses, on the oldest and newest version the tests
check: the same objects pass, and kubernetes-validate's error is among its own."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from harness.chart.render import ci_values_files
from tests.chart.test_kubernetes_schemas import KUBE_VERSIONS
from tests.support import kube_schemas


def _expected(obj, kube_version) -> list[str]:
    try:
        kubernetes_validate.validate(obj, kube_version, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path) or "(the object)"
        return [f"{path}: {error.message}"]
    return []


def _broken(workload):
    wrong_type = copy.deepcopy(workload)
    wrong_type["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 3
    unknown = copy.deepcopy(workload)
    unknown["spec"]["replica"] = 3
    missing = copy.deepcopy(workload)
    del missing["spec"]["selector"]
    nested = copy.deepcopy(workload)
    nested["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    return [wrong_type, unknown, missing, nested]


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_the_fast_validator_agrees_with_kubernetes_validate_on_every_ci_render(
    render, kube_version
):
    objects = [
        obj
        for path in ci_values_files()
        for obj in render(values_files=[path])
        if not obj["apiVersion"].startswith("gateway.networking.k8s.io/")
    ]
    assert {obj["kind"] for obj in objects} >= {"Deployment", "StatefulSet", "Service", "Pod"}
    for obj in objects:
        assert kube_schemas.problems(obj, kube_version) == _expected(obj, kube_version) == []


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_the_fast_validator_refuses_what_kubernetes_validate_refuses(render, kube_version):
    for obj in _broken(render().workload):
        expected = _expected(obj, kube_version)
        found = kube_schemas.problems(obj, kube_version)
        assert expected, "kubernetes-validate let a broken object through"
        assert set(expected) <= set(found), (found, expected)


def test_it_uses_the_newest_bundled_schemas_not_newer_than_the_version_asked_for():
    assert kube_schemas.bundled_version("1.30.4") == "1.30.0"
    assert kube_schemas.bundled_version("v1.37.0") == "1.37.0"
    with pytest.raises(LookupError):
        kube_schemas.bundled_version("1.99.0")


def test_a_kind_it_has_no_schema_for_is_an_error_not_a_pass():
    with pytest.raises(LookupError):
        kube_schemas.problems({"apiVersion": "example.com/v1", "kind": "Widget"}, "1.37.0")
