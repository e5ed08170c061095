"""Fixtures of the end-to-end suite: one cluster per session, one namespace per test.

The cluster is the one `KUBECONFIG` names when it is set, used as it is and left running;
otherwise the project's local cluster (harness.cluster), started here when it is not already
running and stopped at the end of the session only when this session started it.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.cluster.local import LocalCluster
from harness.core.proc import CommandError
from harness.core.retry import wait_for
from harness.kube.client import Kube
from tests.e2e.release import ReleaseUnderTest

NAMESPACE_READY_S = 60.0


@pytest.fixture(scope="session")
def kube() -> Iterator[Kube]:
    given = os.environ.get("KUBECONFIG")
    if given:
        kube = Kube(Path(given))
        try:
            version = kube.server_version()
        except CommandError as error:
            pytest.fail(f"KUBECONFIG={given} is set but its cluster does not answer:\n{error}")
        print(f"\ne2e: using the cluster in KUBECONFIG={given} (Kubernetes {version})")
        yield kube
        return
    cluster = LocalCluster()
    started_here = not cluster.is_healthy()
    cluster.up()
    try:
        yield Kube(cluster.kubeconfig)
    finally:
        if started_here:
            cluster.down()


NamespaceFactory = Callable[..., str]


@pytest.fixture
def namespaces(kube: Kube, request: pytest.FixtureRequest) -> Iterator[NamespaceFactory]:
    """Creates namespaces named after the test (with `labels`), deleted after the test."""
    created: list[str] = []
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_"))

    def create(labels: dict[str, str] | None = None) -> str:
        name = f"e2e-{stem[:40].strip('-')}-{secrets.token_hex(3)}"
        kube.kubectl("create", "namespace", name)
        created.append(name)
        if labels:
            pairs = [f"{key}={value}" for key, value in labels.items()]
            kube.kubectl("label", "namespace", name, *pairs)
        # Pods are refused until the controller manager has made the default ServiceAccount.
        wait_for(
            lambda: kube.get("serviceaccount", "default", name),
            f"the default ServiceAccount in namespace {name}",
            NAMESPACE_READY_S,
        )
        return name

    yield create
    for name in created:
        kube.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


@pytest.fixture
def namespace(namespaces: NamespaceFactory) -> str:
    return namespaces()


@pytest.fixture
def release(kube: Kube, namespace: str) -> ReleaseUnderTest:
    """The chart's release in the test's namespace."""
    return ReleaseUnderTest(kube, namespace)
