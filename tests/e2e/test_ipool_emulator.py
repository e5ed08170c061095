"""The ipool emulator leaves a cluster as it found it: uninstall removes every cluster-wide
object install made, lets go of the pods it held, and every rehearsal ends with it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest

from harness.core.objects import Obj
from harness.core.proc import run
from harness.core.retry import wait_for
from harness.core.tools import ROOT
from harness.ipool import emulator, scenarios
from harness.kube.api import ApiError, KubeAPI
from harness.kube.client import Kube

pytestmark = pytest.mark.e2e

# Everything install makes, as kubectl names it; read with kubectl, not with the emulator's
# own installed(), so a mistake there cannot hide a leftover.
CLUSTER_WIDE = [
    ("customresourcedefinitions", emulator.CRD_NAME),
    ("mutatingadmissionpolicies", emulator.POLICY_NAME),
    ("mutatingadmissionpolicybindings", emulator.POLICY_NAME),
    ("namespaces", emulator.PROBE_NAMESPACE),
]


@pytest.fixture
def api(kube: Kube) -> Iterator[KubeAPI]:
    """A client of the suite's cluster; the emulator is uninstalled after the test, passed
    or failed, so its gate never outlives the test that installed it."""
    api = KubeAPI(kube.kubeconfig)
    try:
        yield api
    finally:
        try:
            emulator.uninstall(api)
        finally:
            api.close()


def present(kube: Kube) -> list[str]:
    found = []
    for resource, name in CLUSTER_WIDE:
        out = kube.kubectl("get", resource, name, "--ignore-not-found", "--output", "name")
        found += out.split()
    return found


def asks_for_a_pool(finalizers: list[str] | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "asks-",
            "annotations": {emulator.DEFAULT_POOL_ANNOTATION: "some-pool"},
            "finalizers": finalizers or [],
        },
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
    }


def gates(pod: Obj) -> list[str]:
    return [gate["name"] for gate in pod["spec"].get("schedulingGates", [])]


def gone(api: KubeAPI, path: str) -> bool:
    try:
        api.get(path)
    except ApiError as error:
        if error.status == 404:
            return True
        raise
    return False


def test_uninstall_removes_every_cluster_wide_object_install_made(api: KubeAPI, kube: Kube):
    emulator.install(api)
    assert len(present(kube)) == len(CLUSTER_WIDE)

    emulator.uninstall(api)

    assert present(kube) == []
    assert emulator.installed(api) == []


def test_after_uninstall_pods_asking_for_a_pool_are_no_longer_gated(
    api: KubeAPI, namespaces: Callable[..., str]
):
    namespace = namespaces(labels={emulator.NAMESPACE_LABEL: "true"})
    pods = f"/api/v1/namespaces/{namespace}/pods"
    emulator.install(api)
    assert gates(api.create(pods, asks_for_a_pool())) == [emulator.GATE]

    emulator.uninstall(api)

    assert gates(api.create(pods, asks_for_a_pool())) == []


def test_uninstall_lets_go_of_the_pods_the_emulator_held(
    api: KubeAPI, namespaces: Callable[..., str]
):
    namespace = namespaces(labels={emulator.NAMESPACE_LABEL: "true"})
    pods = f"/api/v1/namespaces/{namespace}/pods"
    emulator.install(api)
    waiting = api.create(pods, asks_for_a_pool())["metadata"]["name"]
    terminating = api.create(pods, asks_for_a_pool([emulator.FINALIZER]))["metadata"]["name"]
    api.request("DELETE", f"{pods}/{terminating}")
    assert "deletionTimestamp" in api.get(f"{pods}/{terminating}")["metadata"]

    emulator.uninstall(api)

    wait_for(lambda: gone(api, f"{pods}/{terminating}"), f"pod {terminating} to go", 30)
    assert gates(api.get(f"{pods}/{waiting}")) == []


def test_the_command_line_installs_and_uninstalls_and_uninstalling_twice_is_harmless(
    api: KubeAPI, kube: Kube
):
    command = [sys.executable, "-m", emulator.__name__, "--kubeconfig", str(kube.kubeconfig)]
    env = {**kube.env(), "PYTHONPATH": str(ROOT)}
    run([*command, "install"], env=env, timeout=120)
    assert len(present(kube)) == len(CLUSTER_WIDE)

    run([*command, "uninstall"], env=env, timeout=180)
    run([*command, "uninstall"], env=env, timeout=180)

    assert present(kube) == []


def test_a_rehearsal_uninstalls_the_emulator_when_it_ends(kube: Kube):
    with scenarios.Rehearsal(kube) as rehearsal:
        assert emulator.installed(rehearsal.api)

    assert present(kube) == []


def test_a_rehearsal_that_fails_still_uninstalls_the_emulator(kube: Kube):
    with pytest.raises(RuntimeError, match="scenario failed"), scenarios.Rehearsal(kube):
        raise RuntimeError("scenario failed")

    assert present(kube) == []
