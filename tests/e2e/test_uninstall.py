"""Scenario 7: `helm uninstall` removes everything the chart created.

Helm never deletes test hooks at uninstall, and the chart keeps the last `helm test` pod so
that `helm test --logs` can show what it checked; the chart README says to delete it by its
label, and then the namespace is as it was."""

from __future__ import annotations

import pytest

from harness.core.retry import wait_until_gone
from tests.e2e.release import ReleaseUnderTest

pytestmark = pytest.mark.e2e

GONE_S = 90.0


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_helm_uninstall_leaves_the_namespace_as_it_found_it(release: ReleaseUnderTest, kind: str):
    before = release.contents()
    # Every optional object on: the PodDisruptionBudget, and the test hook's pod.
    release.deploy({"workload.kind": kind, "podDisruptionBudget.enabled": "true"})
    release.helm("test", release.name, "--timeout", "2m")
    installed = release.contents() - before
    assert f"PodDisruptionBudget/{release.name}" in installed
    assert f"Service/{release.name}" in installed

    release.helm("uninstall", release.name, "--wait", "--timeout", "2m")
    test_pod = f"app.kubernetes.io/component=test,app.kubernetes.io/instance={release.name}"
    release.kube.kubectl("delete", "pod", "--namespace", release.namespace, "--selector", test_pod)

    wait_until_gone(
        lambda: release.contents() - before, "every object of the release to be deleted", GONE_S
    )
