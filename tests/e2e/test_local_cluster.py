"""The project's local cluster, with a second real node: pinned version, in namespaces of its
own reached over loopback only, crash-safe, leaves nothing behind and no host-wide setting
changed.

These tests start a second local cluster of their own (in another scratch folder), so they
can crash and stop it without disturbing the cluster the other e2e tests use.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cluster.listeners import listeners, network_namespace
from harness.cluster.local import LocalCluster
from harness.core.retry import wait_until_gone
from harness.core.tools import TOOLS_DIR
from harness.kube.client import Kube
from harness.toolchain import controlplane

pytestmark = pytest.mark.e2e

COMPONENTS = {"etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok-controller"}
# Host-wide settings a kubelet or kube-proxy would change if it could; none may change.
HOST_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/netfilter/nf_conntrack_max",
)


def host_sysctls() -> dict[str, str]:
    paths = {key: Path("/proc/sys") / key for key in HOST_SYSCTLS}
    return {key: path.read_text().strip() for key, path in paths.items() if path.exists()}


@pytest.fixture(scope="module")
def sysctls_before() -> dict[str, str]:
    return host_sysctls()


@pytest.fixture(scope="module")
def cluster(sysctls_before: dict[str, str]) -> Iterator[LocalCluster]:
    scratch = TOOLS_DIR / "scratch" / "cluster-lifecycle"
    cluster = LocalCluster(scratch=scratch, name="lifecycle", fake_nodes=1)
    cluster.up()
    try:
        cluster.add_node(2)
        yield cluster
    finally:
        cluster.down()


def test_the_api_server_reports_the_pinned_kubernetes_version(cluster: LocalCluster):
    assert Kube(cluster.kubeconfig).server_version() == controlplane.KUBE_VERSION


def test_each_node_runs_in_namespaces_of_its_own(cluster: LocalCluster):
    [worker] = cluster.workers()
    first, second = cluster.node.namespaces.holder(), worker.namespaces.holder()

    assert len({network_namespace(pid) for pid in (first, second, "self")}) == 3
    assert len({_mount_namespace(pid) for pid in (first, second, "self")}) == 3
    assert set(worker.cgroup_processes()).isdisjoint(cluster.node.cgroup_processes())
    assert worker.cgroup_root != cluster.node.cgroup_root


def test_the_components_listen_inside_the_clusters_own_namespace(cluster: LocalCluster):
    found = listeners(cluster.all_processes())
    root = network_namespace()

    # /proc/<pid>/comm is cut at 15 characters: kube-controller(-manager).
    inside = {listener.command for listener in found if listener.namespace != root}
    assert inside >= COMPONENTS
    assert all(network_namespace(pid) != root for pid in cluster.processes())


def test_the_root_namespace_sees_only_a_loopback_port_of_the_cluster(cluster: LocalCluster):
    root = network_namespace()
    in_root = [
        listener for listener in listeners(cluster.all_processes()) if listener.namespace == root
    ]

    assert [str(x) for x in in_root if not x.on_loopback] == []
    assert {x.pid for x in in_root} == {cluster.namespaces.holder()}, "the holder's forwards only"
    assert len(in_root) == 2, "the API server's port and the registry's, for pushes"


def test_the_kubeconfig_is_in_the_scratch_folder_and_points_at_loopback(cluster: LocalCluster):
    assert cluster.kubeconfig.is_relative_to(TOOLS_DIR / "scratch")
    config = json.loads(cluster.kubectl("config", "view", "--output", "json"))
    [entry] = config["clusters"]
    assert entry["cluster"]["server"].startswith("https://127.0.0.1:")


def test_a_second_start_after_a_crash_works(cluster: LocalCluster):
    # Everything at once, the holder of the namespaces and the node's containers included.
    for pid in cluster.all_processes():
        with contextlib.suppress(ProcessLookupError):  # gone with one killed before it
            os.kill(pid, signal.SIGKILL)
    wait_until_gone(cluster.all_processes, "the killed processes to exit", 10)
    assert not cluster.is_healthy()

    cluster.up()
    cluster.add_node(2)

    assert cluster.is_healthy()
    nodes = json.loads(cluster.kubectl("get", "nodes", "--output", "json"))["items"]
    names = sorted(n["metadata"]["name"] for n in nodes)
    assert names == [cluster.node.name, cluster.worker(2).name, "node-000000"]


def test_stopping_leaves_no_process_and_no_state(cluster: LocalCluster):
    assert cluster.processes()
    nodes = [cluster.node, *cluster.workers()]
    assert len(nodes) == 2
    spaces = [network_namespace(node.namespaces.holder()) for node in nodes]

    cluster.down()

    assert cluster.all_processes() == []
    assert not cluster.cluster_dir.exists()
    assert not cluster.kubeconfig.exists()
    assert cluster.workers() == []
    for namespace in spaces:
        assert not [p for p in os.listdir("/proc") if p.isdigit() and _in(p, namespace)]
    for node in nodes:
        assert [str(d) for d in node.cgroup_dirs() if d.exists()] == []
    assert str(cluster.scratch) not in Path("/proc/mounts").read_text()


def test_no_host_wide_setting_changed(cluster: LocalCluster, sysctls_before: dict[str, str]):
    assert host_sysctls() == sysctls_before


def _in(pid: str, namespace: str) -> bool:
    try:
        return network_namespace(pid) == namespace
    except OSError:
        return False


def _mount_namespace(pid: int | str | None) -> str:
    return os.readlink(f"/proc/{pid}/ns/mnt")
