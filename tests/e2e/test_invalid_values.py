"""Scenario 6: invalid values fail before anything is created in the cluster."""

from __future__ import annotations

import pytest

from harness.chart.render import helm_chart_args
from harness.ops import cli, deploy
from tests.e2e.release import ReleaseUnderTest

# Refused values: no pod runs, so no share of the node is held (tests/support/node_shares.py).
pytestmark = [pytest.mark.e2e, pytest.mark.node_shares(0)]

# One refused by values.schema.json, one by the chart's own `fail` checks.
INVALID = {
    "schema": ({"workload.kind": "DaemonSet"}, "must be one of 'Deployment', 'StatefulSet'"),
    "template": (
        {"gunicorn.gracefulTimeout": "40", "terminationGracePeriodSeconds": "30"},
        "must be below terminationGracePeriodSeconds",
    ),
}


@pytest.mark.parametrize("values, message", INVALID.values(), ids=INVALID.keys())
def test_helm_install_with_invalid_values_creates_nothing(
    release: ReleaseUnderTest, values: dict[str, str], message: str
):
    before = release.contents()
    args = helm_chart_args("upgrade", release=release.name, namespace=release.namespace, set=values)

    done = release.kube.helm(*args, "--install", "--wait", "--timeout", "1m", check=False)

    assert done.returncode != 0
    assert message in done.stderr
    assert release.contents() == before
    assert release.helm("list", "--short").strip() == "", "helm recorded no release"


@pytest.mark.parametrize("values, message", INVALID.values(), ids=INVALID.keys())
def test_the_deploy_script_refuses_invalid_values_before_calling_the_cluster(
    release: ReleaseUnderTest,
    values: dict[str, str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    # Were the check to let the values through, the script must still reach this cluster only.
    monkeypatch.setenv("KUBECONFIG", str(release.kube.kubeconfig))
    before = release.contents()
    args = [f"--set={key}={value}" for key, value in values.items()]

    code = deploy.main(["--namespace", release.namespace, *args])

    assert code == cli.Exit.REFUSED
    assert message in capsys.readouterr().err
    assert release.contents() == before
