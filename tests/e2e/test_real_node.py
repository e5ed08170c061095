"""The local cluster's real node: a kubelet with containerd runs containers, in the cluster's
own namespaces, with the limits and the security context the pod asks for; the chart's image
is pulled from the cluster's registry with the chart's pull secret, answers through its
Service, and `helm test` runs its hook's pod for real.

The app's process is looked at from the host's /proc, in a namespace enforcing the restricted
Pod Security Standard, so these need the local cluster.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.chart.render import CHART_DIR, WORKLOAD_KINDS
from harness.cluster.listeners import network_namespace
from harness.cluster.local import LocalCluster
from harness.cluster.node import CGROUP_FS
from harness.core.objects import Obj
from harness.core.retry import wait_for
from harness.core.tools import ROOT
from harness.kube.client import Kube
from harness.toolchain import node_parts as parts
from harness.traffic.under_load import upgrade_under_load
from tests.e2e.conftest import NamespaceFactory
from tests.e2e.release import IMAGE, RESTRICTED, ReleaseUnderTest

pytestmark = [pytest.mark.e2e, pytest.mark.node]

UID = 10001


@pytest.fixture(scope="module")
def local(local_cluster: LocalCluster | None) -> LocalCluster:
    if local_cluster is None:
        pytest.skip("the real node's processes are looked at on the local cluster only")
    return local_cluster


@pytest.fixture
def running_pod(kube: Kube, namespaces: NamespaceFactory) -> dict[str, object]:
    """One pod of the chart, with its defaults, in a namespace enforcing the restricted Pod
    Security Standard: running, not only admitted."""
    release = ReleaseUnderTest(kube, namespaces(RESTRICTED))
    release.deploy({"replicaCount": 1})
    [pod] = release.settled_pods("1.5.0", 1)
    return pod


def container_process(local: LocalCluster, pod: dict) -> int:
    """The app container's first process on the host: in the node's cgroups, in the
    container's own cgroup (named after its ID; the pod's sandbox has another), as UID."""
    container = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("containerd://")

    def found() -> int | None:
        for pid in sorted(local.node.cgroup_processes()):
            status = Path(f"/proc/{pid}/status").read_text()
            in_container = container in Path(f"/proc/{pid}/cgroup").read_text()
            if in_container and re.search(rf"^Uid:\s+{UID}\s", status, re.MULTILINE):
                return pid
        return None

    what = f"the process of container {container[:12]} (uid {UID}) in the node's cgroups"
    return wait_for(found, what, 30)


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


def test_where_the_restricted_standard_is_enforced_the_app_runs_without_privileges(
    running_pod, local
):
    pid = container_process(local, running_pod)

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
    pid = container_process(local, running_pod)

    assert int(cgroup_file(pid, "memory", "memory.limit_in_bytes")) == 128 * 1024 * 1024
    quota = int(cgroup_file(pid, "cpu", "cpu.cfs_quota_us"))
    period = int(cgroup_file(pid, "cpu", "cpu.cfs_period_us"))
    assert quota / period == pytest.approx(0.2)


def test_the_pod_lives_in_the_clusters_namespace_not_the_hosts(running_pod, local):
    pid = container_process(local, running_pod)

    assert network_namespace(pid) != network_namespace()
    assert running_pod["status"]["podIP"].startswith("198.18.1.")


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_the_app_answers_through_its_service_before_and_after_an_upgrade(
    release: ReleaseUnderTest, local: LocalCluster, kind: str
):
    for tag in ("1.0.0", "1.5.0"):
        release.deploy({"workload.kind": kind, "image.tag": tag})
        pods = release.settled_pods(tag, 3)

        assert {pod["spec"]["nodeName"] for pod in pods} == {local.node.name}
        assert all(status["ready"] for pod in pods for status in pod["status"]["containerStatuses"])
        service = release.kube.get("service", release.name, release.namespace)
        url = f"http://{service['spec']['clusterIP']}:80"
        answers = {path: local.http_get(f"{url}{path}") for path in ("/", "/_health")}
        addresses = ", ".join(sorted(pod["status"]["podIP"] for pod in pods))
        print(f"{kind} {tag}: pods at {addresses}; GET {url} -> {answers}")

        assert answers == {"/": (200, "Hello World!"), "/_health": (200, "OK")}
        assert probe_warnings(release.kube, release.namespace, pods) == []


def probe_warnings(kube: Kube, namespace: str, pods: list[Obj]) -> list[str]:
    """The kubelet's "Unhealthy" warnings (failed probes) about these pods since each was
    first Ready, told apart by UID: a StatefulSet's new pod has its predecessor's name.

    A readiness probe that fails before the pod was ever Ready is left out: the chart's
    initial delay (3 s) covers gunicorn's start on a node with CPU to spare (0.5 to 1.2 s),
    but while the suite starts pods on three nodes at once a start can take longer. A probe
    failing once the pod served is a fault at any load."""
    ready_since = {
        pod["metadata"]["uid"]: condition["lastTransitionTime"]
        for pod in pods
        for condition in pod["status"]["conditions"]
        if condition["type"] == "Ready"
    }
    return [
        f"{event['involvedObject']['name']}: {event['message']}"
        for event in kube.objects("events", namespace)
        if event.get("reason") == "Unhealthy"
        and event["involvedObject"].get("uid") in ready_since
        and (
            "Readiness" not in event["message"]
            # No time said is taken for a failure after Ready, to stay on the safe side.
            or (event.get("lastTimestamp") or "~") > ready_since[event["involvedObject"]["uid"]]
        )
    ]


def test_helm_test_runs_its_pod_for_real_and_fails_when_the_app_does_not_answer(
    release: ReleaseUnderTest, local: LocalCluster
):
    release.deploy({"image.tag": "1.5.0"})

    passed = release.helm("test", release.name, "--logs")
    assert "Phase:          Succeeded" in passed
    assert "/_health -> b'OK'" in passed, "the hook's own output, from a pod that really ran"

    # The Service now sends port 80 nowhere the app listens: the hook must see it fail.
    release.kube.kubectl(
        "patch",
        "service",
        release.name,
        "--namespace",
        release.namespace,
        "--type=json",
        "--patch",
        '[{"op": "replace", "path": "/spec/ports/0/targetPort", "value": 9}]',
    )
    failed = release.helm("test", release.name, "--timeout", "90s", check=False)
    assert "Phase:          Failed" in failed or "failed" in failed.lower(), failed


def test_without_the_pull_secret_the_registry_refuses_the_image(kube: Kube, namespace: str):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "no-secret", "namespace": namespace},
        "spec": {
            "automountServiceAccountToken": False,
            # Always: an image the node already holds would otherwise start without a pull.
            "containers": [{"name": "app", "image": f"{IMAGE}:1.5.0", "imagePullPolicy": "Always"}],
        },
    }
    kube.kubectl("apply", "-f", "-", input=json.dumps(pod))

    def refused() -> str | None:
        events = kube.objects("events", namespace)
        failed = [e["message"] for e in events if e.get("reason") == "Failed"]
        # containerd's words for the registry's 401: it asked for basic auth, none was sent.
        return next((m for m in failed if "authorization failed" in m), None)

    message = wait_for(refused, "the registry's auth error for a pod without the secret", 60)
    assert "registry-qcc.quantil.com/oe-tools/dummy-flask-app:1.5.0" in message
    assert "no basic auth credentials" in message


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_no_request_through_the_service_fails_during_an_upgrade(
    kube: Kube, local: LocalCluster, namespace: str, kind: str
):
    """Steady load on the ClusterIP, new connections and keep-alive ones, while
    `helm upgrade --set image.tag=1.5.0` replaces every pod (docs/rollout-under-load.md)."""
    outcome = upgrade_under_load(kube, local, namespace, {"workload.kind": kind})
    traffic = outcome.traffic
    print(
        f"\n{kind}: {traffic.sent} requests, {traffic.failed} failed, "
        f"{traffic.reconnects} keep-alive connections closed by stopping pods; "
        f"rollout settled in {outcome.settled_seconds} s"
    )

    assert traffic.new_connections.answered > 100 and traffic.keep_alive.answered > 100
    # Every keep-alive connection was to an old pod, so each met a stopping gunicorn.
    assert traffic.reconnects >= 1
    assert traffic.failed == 0, traffic.new_connections.failures + traffic.keep_alive.failures


def test_the_kubelet_restarts_a_container_whose_liveness_probe_fails(release: ReleaseUnderTest):
    """The app answers 404 on the probe's path: every failed probe is real, and so is the
    restart that follows (with the chart's preStop sleep, as for any stop)."""
    release.helm(
        "install",
        release.name,
        str(CHART_DIR),
        "--set",
        "replicaCount=1,livenessProbe.httpGet.path=/missing,"
        "livenessProbe.periodSeconds=2,livenessProbe.failureThreshold=2",
    )

    def restarted() -> dict | None:
        pods = release.pods()
        if pods and pods[0]["status"].get("containerStatuses", [{}])[0].get("restartCount", 0):
            return pods[0]
        return None

    pod = wait_for(restarted, "a restart after failed liveness probes", 90)
    status = pod["status"]["containerStatuses"][0]
    messages = [
        event["message"]
        for event in release.kube.objects("events", release.namespace)
        if event["involvedObject"]["name"] == pod["metadata"]["name"]
    ]
    name, address = pod["metadata"]["name"], pod["status"]["podIP"]
    print(f"\n{name} ({address}): {status['restartCount']} restart(s)")
    print("\n".join(messages))

    assert status["lastState"]["terminated"]["exitCode"] == 0, "gunicorn stopped gracefully"
    assert any(
        "Liveness probe failed: HTTP probe failed with statuscode: 404" in m for m in messages
    )
    assert any("failed liveness probe, will be restarted" in m for m in messages)


@pytest.fixture(scope="module")
def broken_tag(local: LocalCluster, engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The app built locally with `/_health` answering 500, pushed to the node's registry."""
    factory = (ROOT / "app" / "factory.py").read_text()
    broken = factory.replace('Response("OK", ', 'Response("broken", status=500, ')
    assert broken != factory, "app/factory.py no longer answers the health check as expected"
    context = tmp_path_factory.mktemp("broken-app")
    (context / "factory.py").write_text(broken)
    (context / "Dockerfile").write_text(
        f"FROM {IMAGE}:1.5.0\nCOPY factory.py /srv/app/factory.py\n"
    )
    tag = "0.0.0-broken-health"
    pushed = f"{local.registry_address}/{IMAGE.split('/', 1)[1]}:{tag}"
    engine.docker("build", "--tag", pushed, str(context))
    engine.docker("push", pushed)
    return tag


def test_an_app_whose_health_check_fails_is_not_installed_and_fails_helm_test(
    release: ReleaseUnderTest, broken_tag: str
):
    installed = release.helm(
        "upgrade",
        "--install",
        release.name,
        str(CHART_DIR),
        "--set",
        f"image.tag={broken_tag},replicaCount=1",
        "--wait",
        "--timeout",
        "30s",
        check=False,
    )
    status = json.loads(release.helm("status", release.name, "--output", "json"))
    events = [e["message"] for e in release.kube.objects("events", release.namespace)]
    tested = release.helm("test", release.name, "--logs", "--timeout", "90s", check=False)
    print(f"\n{installed}\n{tested}")

    assert "context deadline exceeded" in installed, "helm's --wait ran out"
    assert status["info"]["status"] == "failed", installed
    assert any(
        "Readiness probe failed: HTTP probe failed with statuscode: 500" in m for m in events
    )
    assert "Phase:          Failed" in tested
