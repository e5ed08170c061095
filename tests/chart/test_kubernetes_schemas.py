"""Every object of every ci variant is valid Kubernetes, strictly, old and new."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from harness.chart.render import CHART_DIR, ci_values_files
from tests.support import crd_schema

# The oldest Kubernetes the chart allows (Chart.yaml's kubeVersion, >=1.30 since the preStop
# sleep action) and the newest with bundled schemas.
OLDEST = re.fullmatch(
    r">=(\d+\.\d+\.\d+)-0", yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["kubeVersion"]
).group(1)
KUBE_VERSIONS = [OLDEST, "1.37.0"]


# Every optional object and field at once: Ingress, HTTPRoute, autoscaler, NetworkPolicy...
EVERY_OPTION = Path(__file__).parent / "values" / "every-option.yaml"


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_file", [*ci_values_files(), EVERY_OPTION], ids=lambda p: p.name)
def test_rendered_objects_pass_strict_kubernetes_schema_validation(
    render, values_file, kube_version
):
    manifests = render(values_files=[values_file], kube_version=kube_version)
    assert len(manifests) >= 3
    for obj in manifests:
        if obj["apiVersion"].startswith("gateway.networking.k8s.io/"):
            # Not built in: checked against the pinned Gateway API CRD instead.
            crd_schema.validate(obj)
            continue
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {error.path}")


def test_every_option_renders_every_kind_of_object_the_chart_has(render):
    kinds = {obj["kind"] for obj in render(values_files=[EVERY_OPTION])}
    templates = (CHART_DIR / "templates").rglob("*.yaml")
    declared = {
        match
        for template in templates
        for match in re.findall(r"^kind: (\w+)$", template.read_text(), re.MULTILINE)
    }
    assert len(declared) >= 8
    assert declared <= kinds


def test_strict_validation_catches_an_unknown_field():
    """The validator used above really refuses what the API server would."""
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80}], "clusterIp": "None"},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBE_VERSIONS[-1], strict=True)
