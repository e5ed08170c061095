"""Scenarios 1 and 2: install 1.0.0, upgrade to 1.5.0 with --wait, then `helm test`."""

from __future__ import annotations

import re

import pytest

from harness.chart.render import WORKLOAD_KINDS
from tests.e2e.release import IMAGE, ReleaseUnderTest, describe_pods

pytestmark = pytest.mark.e2e

REPLICAS = 3


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_upgrade_to_1_5_0_replaces_every_pod_and_the_rollout_finishes(
    release: ReleaseUnderTest, kind: str
):
    release.deploy({"workload.kind": kind, "image.tag": "1.0.0"})
    release.settled_pods("1.0.0", REPLICAS)

    release.deploy({"workload.kind": kind, "image.tag": "1.5.0"})

    pods = release.settled_pods("1.5.0", REPLICAS)
    assert {image for _, image in describe_pods(pods)} == {f"{IMAGE}:1.5.0"}
    workload = release.workload()
    assert workload["kind"] == kind
    assert workload["status"]["updatedReplicas"] == REPLICAS
    status = release.rollout_status(workload)
    finished = "successfully rolled out" if kind == "Deployment" else "rolling update complete"
    assert finished in status


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_helm_test_passes_on_an_installed_release(release: ReleaseUnderTest, kind: str):
    release.deploy({"workload.kind": kind})

    out = release.helm("test", release.name, "--timeout", "2m")

    assert re.search(r"^Phase:\s+Succeeded$", out, re.MULTILINE), out
