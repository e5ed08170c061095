"""The project's local cluster: pinned version, loopback only, crash-safe, leaves nothing behind.

These tests start a second local cluster of their own (in another scratch folder), so they
can crash and stop it without disturbing the cluster the other e2e tests use.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator

import pytest

from harness.cluster.local import LocalCluster, listeners
from harness.core.retry import wait_until_gone
from harness.core.tools import TOOLS_DIR
from harness.kube.client import Kube
from harness.toolchain import controlplane

pytestmark = pytest.mark.e2e

COMPONENTS = {"etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok-controller"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    scratch = TOOLS_DIR / "scratch" / "cluster-lifecycle"
    cluster = LocalCluster(scratch=scratch, name="lifecycle", nodes=1)
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.down()


def test_the_api_server_reports_the_pinned_kubernetes_version(cluster: LocalCluster):
    assert Kube(cluster.kubeconfig).server_version() == controlplane.KUBE_VERSION


def test_every_component_listens_on_loopback_only(cluster: LocalCluster):
    found = listeners(cluster.processes())

    # /proc/<pid>/comm is cut at 15 characters: kube-controller(-manager).
    assert {listener.command for listener in found} >= COMPONENTS
    assert [str(x) for x in found if not x.on_loopback] == []


def test_the_kubeconfig_is_in_the_scratch_folder_and_points_at_loopback(cluster: LocalCluster):
    assert cluster.kubeconfig.is_relative_to(TOOLS_DIR / "scratch")
    config = json.loads(cluster.kubectl("config", "view", "--output", "json"))
    [entry] = config["clusters"]
    assert entry["cluster"]["server"].startswith("https://127.0.0.1:")


def test_a_second_start_after_a_crash_works(cluster: LocalCluster):
    for pid in cluster.processes():
        os.kill(pid, signal.SIGKILL)
    wait_until_gone(cluster.processes, "the killed components to exit", 10)
    assert not cluster.is_healthy()

    cluster.up()

    assert cluster.is_healthy()
    assert len(json.loads(cluster.kubectl("get", "nodes", "--output", "json"))["items"]) == 1


def test_stopping_leaves_no_process_and_no_state(cluster: LocalCluster):
    assert cluster.processes()

    cluster.down()

    assert cluster.processes() == []
    assert not cluster.cluster_dir.exists()
    assert not cluster.kubeconfig.exists()
