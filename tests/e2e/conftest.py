"""Fixtures of the end-to-end suite: one cluster per run, one namespace per test.

The cluster is the project's local cluster (harness.cluster), started by the run's first test
process that needs it when it is not already running, and stopped when the run ends only if
the run started it (tests/support/shared.py; the test processes share it). An existing
cluster is used, as it is and left running, only when `DFA_E2E_KUBECONFIG` names its
kubeconfig (tests/e2e/target.py); a KUBECONFIG set in the shell is ignored, and for the session
it names the suite's cluster, so nothing that reads it can reach another one.

When the run ends, no cluster-wide object of the ipool emulator may be left that was not
there when it began: any such object is removed and the run reported as failed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.cluster.local import LocalCluster
from harness.container.publish import publish
from harness.core.proc import CommandError
from harness.core.retry import wait_for, wait_until_gone
from harness.core.tools import SCRATCH_DIR
from harness.ipool import emulator
from harness.kube import identity
from harness.kube.api import KubeAPI
from harness.kube.client import Kube
from tests.e2e.release import ReleaseUnderTest
from tests.e2e.target import E2E_KUBECONFIG, existing_cluster
from tests.support import end_of_run, shared
from tests.support.node_shares import NodeShares, shares_of

# Two real nodes set apart (harness.cluster.groups) for the tests that drain or kill them,
# and for the ipool rehearsals, which then need no share of the first node.
PAIR = "pair"
PAIR_NODES = (2, 3)
NAMESPACE_READY_S = 60.0
# Longer than any pod's grace period (the chart's default is 30 s).
PODS_GONE_S = 120.0
OPERATOR = "e2e-operator"


@pytest.fixture(scope="session")
def local_cluster() -> LocalCluster | None:
    """The local cluster, started by the first test process that asks and stopped when the
    whole run ends, if the run started it (tests/support/shared.py); None when
    DFA_E2E_KUBECONFIG names another cluster."""
    if existing_cluster(os.environ):
        return None
    cluster = LocalCluster()
    with shared.exclusive("cluster"):
        if not cluster.is_healthy():
            cluster.up()
            shared.started("cluster")
    return cluster


@pytest.fixture(scope="session")
def suite_cluster(local_cluster: LocalCluster | None) -> Kube:
    """The cluster the module doc describes."""
    if local_cluster is not None:
        return Kube(local_cluster.kubeconfig)
    given = existing_cluster(os.environ)
    kube = Kube(given)
    try:
        version = kube.server_version()
    except CommandError as error:
        pytest.fail(f"{E2E_KUBECONFIG}={given} names a cluster that does not answer:\n{error}")
    print(f"\ne2e: using the cluster in {E2E_KUBECONFIG}={given} (Kubernetes {version})")
    return kube


@pytest.fixture(scope="session", autouse=True)
def app_images(local_cluster: LocalCluster | None, request: pytest.FixtureRequest) -> None:
    """The app's 1.0.0 and 1.5.0 in the local node's registry, built from the Dockerfile now
    and pushed with scripts/build-image --push, once a run (another cluster pulls from its
    own)."""
    if local_cluster is not None:
        engine, base_image = (
            request.getfixturevalue("engine"),
            request.getfixturevalue("base_image"),
        )
        shared.once("images", lambda: publish(local_cluster, engine, base_image) or "pushed")


@pytest.fixture(scope="session")
def kube(suite_cluster: Kube) -> Iterator[Kube]:
    """The suite's cluster, which KUBECONFIG names for the session. What of the ipool
    emulator's cluster-wide objects it held when the run first reached it is noted: objects
    left beyond those at the end of the run fail it (tests/conftest.py)."""
    shared.once(
        end_of_run.EMULATOR_BEFORE,
        lambda: {
            "kubeconfig": str(suite_cluster.kubeconfig),
            "objects": _emulator_objects(suite_cluster),
        },
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(suite_cluster.kubeconfig))
        yield suite_cluster


def _emulator_objects(kube: Kube) -> list[str]:
    api = KubeAPI(kube.kubeconfig)
    try:
        return emulator.installed(api)
    finally:
        api.close()


@pytest.fixture(scope="session")
def node_shares(kube: Kube) -> NodeShares:
    """The node's CPU in shares, counted once a run (tests/support/node_shares.py)."""
    return NodeShares(shared.once("node-shares", lambda: shares_of(kube)))


@pytest.fixture(scope="session")
def node_pair(local_cluster: LocalCluster | None) -> Iterator[list[str]]:
    """The names of the PAIR group's two nodes, started in this test process and removed when
    it ends. Only the files of one unit of work (TOGETHER, tests/conftest.py) may ask for it:
    a drain evicts every pod of its node, a test's or not."""
    if local_cluster is None:
        pytest.skip(f"groups of nodes are made on the local cluster, not on {E2E_KUBECONFIG}'s")
    try:
        yield [local_cluster.add_node(index, PAIR).name for index in PAIR_NODES]
    finally:
        for index in PAIR_NODES:
            local_cluster.remove_node(index)


NamespaceFactory = Callable[..., str]


@pytest.fixture
def namespaces(
    kube: Kube,
    local_cluster: LocalCluster | None,
    node_shares: NodeShares,
    request: pytest.FixtureRequest,
) -> Iterator[NamespaceFactory]:
    """Creates namespaces named after the test (with `labels` and, on the local cluster, the
    chart's pull secret; with `group`, confined to that group's nodes), deleted after the
    test. The test holds a share of the node (`node_shares`; more, or none, with
    `@pytest.mark.node_shares(N)`) from its first namespace on."""
    created: list[str] = []
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_"))
    marked = request.node.get_closest_marker("node_shares")
    held = contextlib.ExitStack()

    def create(labels: dict[str, str] | None = None, group: str = "") -> str:
        if not created:
            held.enter_context(node_shares.held(marked.args[0] if marked else 1))
        name = f"e2e-{stem[:40].strip('-')}-{secrets.token_hex(3)}"
        kube.kubectl("create", "namespace", name)
        created.append(name)
        if labels:
            pairs = [f"{key}={value}" for key, value in labels.items()]
            kube.kubectl("label", "namespace", name, *pairs)
        if local_cluster is not None:
            local_cluster.allow_pulls(name, group)
        # Pods are refused until the controller manager has made the default ServiceAccount.
        wait_for(
            lambda: kube.get("serviceaccount", "default", name),
            f"the default ServiceAccount in namespace {name}",
            NAMESPACE_READY_S,
        )
        return name

    with held:
        yield create
        for name in created:
            kube.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")
        # The scheduler counts a terminating pod's CPU request until the pod is gone, so the
        # share covers the test's pods until then; the namespace itself may go later.
        wait_until_gone(
            lambda: [
                f"{name}/{pod['metadata']['name']}"
                for name in created
                for pod in kube.objects("pods", name)
            ],
            f"the pods of namespaces {', '.join(created)} to be gone",
            PODS_GONE_S,
        )


@pytest.fixture
def namespace(namespaces: NamespaceFactory) -> str:
    return namespaces()


@pytest.fixture
def release(kube: Kube, namespace: str) -> ReleaseUnderTest:
    """The chart's release in the test's namespace."""
    return ReleaseUnderTest(kube, namespace)


@pytest.fixture(scope="session")
def operator(kube: Kube) -> identity.Operator:
    """A namespace operator as the write-up's hold one: a client certificate signed by the
    cluster's CA, with no rights until `operator_namespace` grants some."""
    kubeconfig = shared.once(
        "operator",
        lambda: str(identity.issue(kube, OPERATOR, SCRATCH_DIR / "identities").kubeconfig),
    )
    return identity.Operator(OPERATOR, Path(kubeconfig))


@pytest.fixture
def operator_namespace(kube: Kube, namespace: str, operator: identity.Operator) -> str:
    """The test's namespace, with scripts/operator-rbac.yaml's Role bound to `operator` in it."""
    identity.grant(kube, operator, namespace)
    return namespace
