"""The chart's NetworkPolicy enforced by a real engine, not just rendered.

The bridge plugin of the other nodes lets every packet through, so these tests run on a node
of their own that also runs kube-router's firewall (harness.cluster.node): the namespaces
here are confined to it (harness.cluster.groups). Three kinds of client ask the release:
a pod of its namespace, a pod of another namespace, and node 1, an address outside every
pod range. A refusal is kube-router's REJECT, so it comes at once; every answer is awaited
for a while, since the engine applies a changed policy a moment after Helm does.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.chart.render import DEFAULT_RELEASE, helm_chart_args
from harness.cluster.addresses import NODE_IP
from harness.cluster.local import LocalCluster
from harness.cluster.node import Node
from harness.core.proc import CommandError, run
from harness.core.retry import WaitTimeout, wait_for
from harness.kube.client import Kube
from tests.e2e.release import IMAGE, TIMEOUT

pytestmark = [pytest.mark.e2e, pytest.mark.node_shares(0)]

GROUP = "netpol"
NODE_INDEX = 4
TAG = "1.5.0"
SELECTOR = f"app.kubernetes.io/name=dummy-flask-app,app.kubernetes.io/instance={DEFAULT_RELEASE}"
# Long enough for kube-router to apply a policy Helm just changed (it syncs on each event).
SETTLE_S = 60.0
# What a request inside a pod prints: "answered" or why not. A REJECT fails it at once.
ASK = (
    "import sys, urllib.request\n"
    "try:\n"
    "    urllib.request.urlopen(sys.argv[1], timeout=3).read()\n"
    "    print('answered')\n"
    "except OSError as error:\n"
    "    print(type(error).__name__, error)\n"
)


@dataclass
class Guarded:
    """The release behind its policy on the policy node, and the clients that ask it."""

    kube: Kube
    cluster: LocalCluster
    node: Node
    namespace: str
    outsider_namespace: str
    values_file: Path

    def apply(self, network_policy: Mapping[str, object]) -> None:
        """`helm upgrade --install` the release with these `networkPolicy` values."""
        values = {"replicaCount": 2, "networkPolicy": {"enabled": True, **network_policy}}
        self.values_file.write_text(yaml.safe_dump(values))
        args = helm_chart_args("upgrade", namespace=self.namespace, values_files=[self.values_file])
        self.kube.helm(*args, "--install", "--wait", "--timeout", TIMEOUT)

    @property
    def service_url(self) -> str:
        service = self.kube.get("service", DEFAULT_RELEASE, self.namespace)
        assert service is not None, f"no Service {DEFAULT_RELEASE} in {self.namespace}"
        return f"http://{service['spec']['clusterIP']}:{service['spec']['ports'][0]['port']}/"

    @property
    def pod_url(self) -> str:
        """A pod's own address and port, as a client outside the cluster reaches it."""
        return f"http://{self.pods()[0]['status']['podIP']}:8000/"

    def pods(self) -> list[dict]:
        return self.kube.objects("pods", self.namespace, SELECTOR)

    def from_pod(self, namespace: str, url: str) -> str:
        """What the client pod of `namespace` gets when it asks `url`."""
        return self.kube.kubectl(
            "exec", "client", "--namespace", namespace, "--", "python3", "-c", ASK, url
        ).strip()

    def from_node_1(self, url: str) -> str:
        try:
            self.cluster.http_get(url, timeout=3)
        except CommandError as error:
            return error.stderr.strip().splitlines()[-1]
        return "answered"


def _eventually(ask, wanted: bool, what: str) -> None:
    """Wait until `ask()` is answered (`wanted`) or refused (not `wanted`); fail with the
    last thing it said."""
    said: list[str] = []

    def as_wanted() -> bool:
        said.append(ask())
        return (said[-1] == "answered") == wanted

    try:
        wait_for(as_wanted, what, SETTLE_S, 1.0)
    except WaitTimeout:
        pytest.fail(f"{what}: not so after {SETTLE_S:g} s; last: {said[-1]}")


def admitted(ask, what: str) -> None:
    _eventually(ask, True, f"{what} is answered")


def refused(ask, what: str) -> None:
    _eventually(ask, False, f"{what} is refused")


def _client_pod(namespace: str) -> dict:
    """A pod that only waits, with the app's image (it has Python), to ask from."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "client", "namespace": namespace, "labels": {"role": "client"}},
        "spec": {
            "imagePullSecrets": [{"name": "myregistrykey"}],
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "client",
                    "image": f"{IMAGE}:{TAG}",
                    "command": ["python3", "-c", "import time; time.sleep(3600)"],
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def policy_node(local_cluster: LocalCluster | None) -> Iterator[Node]:
    if local_cluster is None:
        pytest.skip("the policy engine runs on the local cluster's own nodes")
    try:
        yield local_cluster.add_node(NODE_INDEX, GROUP, network_policy=True)
    finally:
        local_cluster.remove_node(NODE_INDEX)


@pytest.fixture(scope="module")
def guarded(
    kube: Kube,
    local_cluster: LocalCluster,
    policy_node: Node,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Guarded]:
    suffix = secrets.token_hex(3)
    namespace, outsider = f"e2e-netpol-{suffix}", f"e2e-netpol-outsider-{suffix}"
    for name in (namespace, outsider):
        local_cluster.allow_pulls(name, GROUP)
    try:
        wait_for(
            lambda: all(kube.get("serviceaccount", "default", ns) for ns in (namespace, outsider)),
            "the namespaces' default ServiceAccounts",
            60,
        )
        pods = {
            "apiVersion": "v1",
            "kind": "List",
            "items": [_client_pod(namespace), _client_pod(outsider)],
        }
        kube.kubectl("apply", "-f", "-", input=json.dumps(pods))
        guarded = Guarded(
            kube,
            local_cluster,
            policy_node,
            namespace,
            outsider,
            tmp_path_factory.mktemp("values") / "values.yaml",
        )
        guarded.apply({"externalCIDRs": []})
        for ns in (namespace, outsider):
            kube.kubectl(
                "wait", "pod/client", "--namespace", ns, "--for=condition=Ready", "--timeout=120s"
            )
        yield guarded
    finally:
        kube.kubectl(
            "delete", "namespace", namespace, outsider, "--wait=false", "--ignore-not-found"
        )


def test_the_policy_node_runs_kube_router_and_its_rules_hang_in_the_forward_chain(
    policy_node: Node,
):
    assert policy_node.runs("kube-router")
    assert policy_node.enforces_policy()


def test_the_host_holds_no_rule_and_no_ipset_of_kube_router(guarded: Guarded):
    inside = guarded.node.namespaces.run_in_network("ipset", "list", "-name")
    assert inside.split(), "kube-router made no ipset in the node's namespace"
    assert "KUBE-ROUTER" not in run(["iptables-save"]).stdout
    on_host = run(["ipset", "list", "-name"]).stdout.split()
    assert not set(on_host) & set(inside.split()), on_host


def test_pods_turn_and_stay_ready_behind_the_policy_so_the_kubelet_probes_get_through(
    guarded: Guarded,
):
    guarded.apply({"externalCIDRs": []})
    rules = guarded.node.namespaces.run_in_network("iptables-save")
    pods = guarded.pods()
    assert len(pods) == 2
    for pod in pods:
        name = pod["metadata"]["name"]
        assert f"rule to REJECT traffic destined for POD name:{name} " in rules, (
            f"kube-router guards no pod {name}:\n{rules}"
        )
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"]
        restarts = [c["restartCount"] for c in pod["status"]["containerStatuses"]]
        assert ready == "True" and restarts == [0], pod["status"]


def test_a_pod_of_the_namespace_gets_through_the_service_and_helm_test_passes(
    guarded: Guarded,
):
    guarded.apply({"externalCIDRs": []})
    service = guarded.service_url

    admitted(lambda: guarded.from_pod(guarded.namespace, service), "the namespace's pod")
    tested = guarded.kube.helm("test", DEFAULT_RELEASE, "--namespace", guarded.namespace)
    assert "Phase:          Succeeded" in tested.stdout, tested.stdout


def test_a_pod_of_another_namespace_and_an_outside_address_are_refused(guarded: Guarded):
    guarded.apply({"externalCIDRs": []})
    service = guarded.service_url
    pod_ip = guarded.pod_url

    admitted(lambda: guarded.from_pod(guarded.namespace, service), "the namespace's pod")
    refused(lambda: guarded.from_pod(guarded.outsider_namespace, service), "another namespace")
    refused(lambda: guarded.from_node_1(pod_ip), f"node 1 ({NODE_IP})")


def test_an_external_cidr_admits_that_address_and_still_no_pod_of_another_namespace(
    guarded: Guarded,
):
    guarded.apply({"externalCIDRs": [f"{NODE_IP}/32"]})
    pod_ip = guarded.pod_url
    service = guarded.service_url

    admitted(lambda: guarded.from_node_1(pod_ip), f"node 1 ({NODE_IP}), listed")
    refused(lambda: guarded.from_pod(guarded.outsider_namespace, service), "another namespace")


def test_naming_another_namespace_in_from_admits_its_pods(guarded: Guarded):
    """The control for the refusals above: the same pod, the same path, let in by the
    policy alone."""
    outsiders = {"kubernetes.io/metadata.name": guarded.outsider_namespace}
    guarded.apply(
        {
            "externalCIDRs": [],
            "from": [{"podSelector": {}}, {"namespaceSelector": {"matchLabels": outsiders}}],
        }
    )
    service = guarded.service_url

    admitted(lambda: guarded.from_pod(guarded.outsider_namespace, service), "another namespace")
