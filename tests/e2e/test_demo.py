"""The README's main job on a real cluster: 1.0.0 installed, upgraded to 1.5.0, both kinds."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest

from harness.demo import run as demo
from harness.kube.client import Kube
from tests.e2e.release import IMAGE
from tests.support.node_shares import NodeShares

pytestmark = pytest.mark.e2e


@pytest.fixture
def prefix(kube: Kube, node_shares: NodeShares) -> Iterator[str]:
    """A namespace prefix of the demo's own; its two releases hold two shares of the node."""
    prefix = f"e2e-demo-{secrets.token_hex(3)}"
    with node_shares.held(2):
        yield prefix
        for kind in ("deployment", "statefulset"):
            kube.kubectl(
                "delete", "namespace", f"{prefix}-{kind}", "--wait=false", "--ignore-not-found"
            )


def test_demo_installs_1_0_0_then_upgrades_both_kinds_to_1_5_0(
    kube: Kube, local_cluster, prefix: str, capsys: pytest.CaptureFixture[str]
):
    # On the local cluster the demo is run as `make demo` runs it: without --kubeconfig.
    target = [] if local_cluster else ["--kubeconfig", str(kube.kubeconfig)]
    assert demo.main(["--namespace-prefix", prefix, *target]) == 0

    out, err = capsys.readouterr()
    if local_cluster:
        # The chart went out as a release would, and each install took it from there.
        pushed = re.search(r"chart pushed to (oci://\S+/dummy-flask-app):(\S+) \(sha256:", out)
        assert pushed, out
        assert f"fetching chart {pushed[1]} {pushed[2]}" in err, err
        assert f"chart dummy-flask-app {pushed[2]}, its provenance verified" in err, err
        assert re.search(r"\+ helm upgrade \S+ \S*/dfa-chart-\S+/dummy-flask-app ", out), out
        # Each version of each kind answered through its Service.
        assert len(re.findall(r"GET http://\S+:80/ -> 200 'Hello World!'", out)) == 4
        assert len(re.findall(r"GET http://\S+:80/_health -> 200 'OK'", out)) == 4
    assert 'deployment "dummy-flask-app" successfully rolled out' in out
    assert "statefulset rolling update complete 3 pods at revision" in out
    for kind in ("deployment", "statefulset"):
        pods = kube.objects("pods", f"{prefix}-{kind}", "app.kubernetes.io/name=dummy-flask-app")
        assert {pod["spec"]["containers"][0]["image"] for pod in pods} == {f"{IMAGE}:1.5.0"}
