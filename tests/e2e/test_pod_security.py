"""Scenario 5: the release installs where the restricted Pod Security Standard is enforced."""

from __future__ import annotations

import json

import pytest

from harness.chart.render import WORKLOAD_KINDS, render
from harness.core.proc import CommandError
from harness.kube.client import Kube
from tests.e2e.conftest import NamespaceFactory
from tests.e2e.release import RESTRICTED, ReleaseUnderTest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_release_and_its_helm_test_run_where_the_restricted_standard_is_enforced(
    kube: Kube, namespaces: NamespaceFactory, kind: str
):
    release = ReleaseUnderTest(kube, namespaces(RESTRICTED))

    release.deploy({"workload.kind": kind})

    release.settled_pods("1.5.0", 3)
    release.helm("test", release.name, "--timeout", "2m")


def test_the_same_pod_without_its_security_contexts_is_refused_there(
    kube: Kube, namespaces: NamespaceFactory
):
    # The control for the test above: it passes because the chart's pod spec is compliant,
    # not because nothing judges it.
    namespace = namespaces(RESTRICTED)
    spec = render(namespace=namespace).pod_template["spec"]
    spec.pop("securityContext")
    spec.pop("serviceAccountName")  # the release would create it; nothing else differs
    for container in spec["containers"]:
        container.pop("securityContext")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"}, "spec": spec}

    with pytest.raises(CommandError) as refused:
        kube.kubectl(
            "create",
            "--namespace",
            namespace,
            "--dry-run=server",
            "-f",
            "-",
            input=json.dumps(pod),
        )

    assert 'violates PodSecurity "restricted:latest"' in refused.value.stderr
