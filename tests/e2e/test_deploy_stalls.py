"""scripts/deploy stops a rollout that can no longer finish within its stall time, instead of
waiting out --timeout, and says which pod waits for what (the IP-pool case is in
tests/e2e/test_ipool_rollouts.py). It runs as a namespace operator: the events that tell the
reasons are read with the rights of scripts/operator-rbac.yaml alone."""

from __future__ import annotations

import time

import pytest

from harness.core.proc import run
from harness.core.tools import ROOT
from harness.kube.client import Kube
from harness.kube.identity import Operator
from harness.ops import cli

pytestmark = pytest.mark.e2e


def test_an_image_that_cannot_be_pulled_stops_the_deploy_within_its_stall_time(
    kube: Kube, operator: Operator, operator_namespace: str
):
    namespace = operator_namespace
    deploy = [str(ROOT / "scripts" / "deploy"), "-n", namespace, "--set", "replicaCount=1"]
    began = time.monotonic()
    done = run(
        [*deploy, "--set", "image.tag=0.0.0-missing", "--stall-timeout", "10s", "--timeout", "5m"],
        env=operator.env(kube),
        timeout=300,
        check=False,
    )
    took = time.monotonic() - began
    error = done.stderr.strip().splitlines()[-1]
    print(f"\nstopped after {took:.0f} s: {error}")

    assert done.returncode == cli.Exit.STALLED
    assert took < 60, "10 s of no progress, after the pull has been refused and backed off"
    assert error.startswith("scripts/deploy: error: the rollout of deployment/dummy-flask-app")
    assert "ErrImagePull" in error or "ImagePullBackOff" in error
    assert "dummy-flask-app:0.0.0-missing" in error


def test_a_stall_timeout_of_zero_leaves_the_wait_to_helm_and_ends_as_a_timeout(
    kube: Kube, operator: Operator, operator_namespace: str
):
    namespace = operator_namespace
    deploy = [str(ROOT / "scripts" / "deploy"), "-n", namespace, "--set", "replicaCount=1"]
    done = run(
        [*deploy, "--set", "image.tag=0.0.0-missing", "--stall-timeout", "0s", "--timeout", "40s"],
        env=operator.env(kube),
        timeout=300,
        check=False,
    )

    assert done.returncode == cli.Exit.TIMEOUT
    assert "context deadline exceeded" in done.stdout + done.stderr
