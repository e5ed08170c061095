"""The local cluster's real node: a kubelet with containerd runs containers, in the cluster's
own namespaces, with the limits and the security context the pod asks for.

The container's process is looked at from the host's /proc, so these need the local cluster.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.cluster.listeners import network_namespace
from harness.cluster.local import LocalCluster
from harness.cluster.node import CGROUP_FS, REAL_NODE_TAINT
from harness.core.retry import wait_for
from harness.kube.client import Kube
from harness.toolchain import node as parts

pytestmark = [pytest.mark.e2e, pytest.mark.node]

UID = 10001


@pytest.fixture(scope="module")
def local(suite_cluster: Kube) -> LocalCluster:
    cluster = LocalCluster()
    if suite_cluster.kubeconfig != cluster.kubeconfig:
        pytest.skip("the real node's processes are looked at on the local cluster only")
    return cluster


def restricted_pod(namespace: str) -> dict[str, object]:
    """A pod shaped like the chart's: non-root, no privileges, read-only root, limits."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {
            "automountServiceAccountToken": False,
            "tolerations": [{"key": REAL_NODE_TAINT, "operator": "Exists"}],
            "nodeSelector": {"kubernetes.io/hostname": LocalCluster().node.name},
            "containers": [
                {
                    "name": "probe",
                    "image": parts.PAUSE_IMAGE,
                    "imagePullPolicy": "Never",
                    "securityContext": {
                        "runAsUser": UID,
                        "runAsNonRoot": True,
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}},
                }
            ],
        },
    }


@pytest.fixture
def running_pod(kube: Kube, namespace: str) -> dict[str, object]:
    kube.kubectl("apply", "-f", "-", input=json.dumps(restricted_pod(namespace)))

    def running() -> dict[str, object] | None:
        pod = kube.get("pod", "probe", namespace)
        return pod if pod and pod["status"].get("phase") == "Running" else None

    return wait_for(running, "the probe pod to run on the real node", 60)


def container_process(local: LocalCluster) -> int:
    """The probe's process on the host: the one process of the node's pods running as UID."""

    def found() -> int | None:
        for pid in local.node.cgroup_processes():
            status = Path(f"/proc/{pid}/status").read_text()
            if re.search(rf"^Uid:\s+{UID}\s", status, re.MULTILINE):
                return pid
        return None

    return wait_for(found, f"a process of uid {UID} in the node's cgroups", 30)


def status_field(pid: int, name: str) -> str:
    text = Path(f"/proc/{pid}/status").read_text()
    return re.search(rf"^{name}:\s+(.+)$", text, re.MULTILINE).group(1).strip()


def cgroup_file(pid: int, controller: str, name: str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return (CGROUP_FS / controllers / path.lstrip("/") / name).read_text().strip()
    raise LookupError(f"no {controller} cgroup for {pid}")


def test_the_real_node_runs_containerd_and_the_pinned_kubelet(kube: Kube, local: LocalCluster):
    node = kube.get("node", local.node.name, "")
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.37.2"
    assert info["containerRuntimeVersion"] == f"containerd://{parts.CONTAINERD_VERSION[1:]}"


def test_a_restricted_pod_runs_as_a_real_process_without_privileges(running_pod, local):
    pid = container_process(local)

    assert status_field(pid, "Uid").split()[0] == str(UID)
    assert int(status_field(pid, "CapEff"), 16) == 0
    assert status_field(pid, "NoNewPrivs") == "1"
    assert status_field(pid, "Seccomp") == "2", "RuntimeDefault: a seccomp filter"
    root_mount = next(
        line
        for line in Path(f"/proc/{pid}/mounts").read_text().splitlines()
        if line.split()[1] == "/"
    )
    assert "ro" in root_mount.split()[3].split(","), root_mount


def test_the_pods_limits_are_real_cgroup_limits(running_pod, local):
    pid = container_process(local)

    assert int(cgroup_file(pid, "memory", "memory.limit_in_bytes")) == 128 * 1024 * 1024
    quota = int(cgroup_file(pid, "cpu", "cpu.cfs_quota_us"))
    period = int(cgroup_file(pid, "cpu", "cpu.cfs_period_us"))
    assert quota / period == pytest.approx(0.2)


def test_the_pod_lives_in_the_clusters_namespace_not_the_hosts(running_pod, local):
    pid = container_process(local)

    assert network_namespace(pid) != network_namespace()
    assert running_pod["status"]["podIP"].startswith("198.18.1.")
