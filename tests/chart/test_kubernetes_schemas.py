"""Every object of every ci variant is valid Kubernetes, strictly, old and new."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
import yaml

from harness.chart.render import CHART_DIR, ci_values_files

# The oldest Kubernetes the chart allows (Chart.yaml's kubeVersion, >=1.30 since the preStop
# sleep action) and the newest with bundled schemas.
OLDEST = re.fullmatch(
    r">=(\d+\.\d+\.\d+)-0", yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["kubeVersion"]
).group(1)
KUBE_VERSIONS = [OLDEST, "1.37.0"]


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_file", ci_values_files(), ids=lambda p: p.name)
def test_rendered_objects_pass_strict_kubernetes_schema_validation(
    render, values_file, kube_version
):
    manifests = render(values_files=[values_file], kube_version=kube_version)
    assert len(manifests) >= 3
    for obj in manifests:
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {error.path}")


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
