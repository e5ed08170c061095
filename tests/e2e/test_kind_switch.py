"""Switching kind: with one plain upgrade each way, and by hand-over (scripts/migrate-to-*),
which keeps all but one pod Ready and rolls back when the new pods do not come up."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from harness.chart.render import helm_chart_args
from harness.core.objects import names
from harness.core.proc import run
from harness.core.retry import wait_for, wait_until_gone
from harness.core.tools import ROOT, tool_path
from harness.ops import cli
from harness.ops.deploy import DeployRequest, commands
from harness.ops.handover import switch_kind
from tests.e2e.release import ReleaseUnderTest, owner_kinds

pytestmark = pytest.mark.e2e

SERVICE = "dummy-flask-app"
HEADLESS = "dummy-flask-app-headless"
SETTLE_S = 90.0


def _switch_to(release: ReleaseUnderTest, kind: str, owner: str) -> None:
    """Upgrade to `kind` as meant (workload.switchKind); wait until only its pods are left
    (the old workload fully gone)."""
    release.deploy({"workload.kind": kind, "workload.switchKind": "true"})

    assert [w["kind"] for w in release.workloads()] == [kind]

    def only_new_pods() -> bool:
        pods = release.pods()
        return len(pods) == 3 and owner_kinds(pods) == {owner}

    wait_for(only_new_pods, f"3 pods, all owned by a {owner}", SETTLE_S)
    if kind == "StatefulSet":
        wait_until_gone(
            lambda: names(release.kube.objects("replicasets", release.namespace, release.selector)),
            "the old Deployment's ReplicaSets to be garbage-collected",
            SETTLE_S,
        )


def test_kind_switches_both_ways_keep_the_service_and_leave_no_old_workload(
    release: ReleaseUnderTest,
):
    release.deploy({"workload.kind": "Deployment"})
    service = release.kube.get("service", SERVICE, release.namespace)
    assert service is not None

    _switch_to(release, "StatefulSet", owner="StatefulSet")
    services = release.kube.objects("services", release.namespace)
    assert names(services) == [f"Service/{SERVICE}", f"Service/{HEADLESS}"]
    assert release.workload()["spec"]["serviceName"] == HEADLESS

    _switch_to(release, "Deployment", owner="ReplicaSet")
    assert names(release.kube.objects("services", release.namespace)) == [f"Service/{SERVICE}"]
    assert not release.kube.objects("controllerrevisions", release.namespace, release.selector)

    # The Service was updated in place through both switches: same object, same clusterIP.
    after = release.kube.get("service", SERVICE, release.namespace)
    assert after is not None
    assert after["metadata"]["uid"] == service["metadata"]["uid"]
    assert after["spec"]["clusterIP"] == service["spec"]["clusterIP"]


def _uids(pods: list) -> set[str]:
    return {pod["metadata"]["uid"] for pod in pods}


@pytest.mark.parametrize("helm", ["helm", "helm3"])
def test_a_hand_over_switches_kind_both_ways_and_the_release_adopts_the_pods_unchanged(
    release: ReleaseUnderTest, helm: str
):
    """harness.ops.handover with Helm 4 and Helm 3: the release ends as an ordinary release
    of the new kind, whose pods are those the hand-over started (helm's adoption restarts
    none), and `helm upgrade --set image.tag=...` keeps working on it."""
    helm_path, kubectl = tool_path(helm), tool_path("kubectl")
    target = DeployRequest(release.name, release.namespace, set={"image.tag": "1.5.0"})
    for command in commands(target, helm_path, kubectl):
        release.kube.run(command)

    for kind, owner in (("StatefulSet", "StatefulSet"), ("Deployment", "ReplicaSet")):
        switch_kind(target, kind, helm_path, kubectl, release.kube.env(helm))
        pods = release.settled_pods("1.5.0", 3)
        assert owner_kinds(pods) == {owner}
        assert [w["kind"] for w in release.workloads()] == [kind]
        history = json.loads(
            release.kube.helm(
                "history", release.name, "-n", release.namespace, "-o", "json", helm=helm
            ).stdout
        )
        assert history[-1]["status"] == "deployed"
        assert history[-1]["description"] == "Upgrade complete"
        if kind == "StatefulSet":
            assert release.kube.get("service", HEADLESS, release.namespace) is not None
        else:
            assert release.kube.get("service", HEADLESS, release.namespace) is None

    handed_over = _uids(release.settled_pods("1.5.0", 3))
    for command in commands(replace(target, set={"image.tag": "1.0.0"}), helm_path, kubectl):
        release.kube.run(command)
    assert _uids(release.settled_pods("1.0.0", 3)).isdisjoint(handed_over)


def test_a_hand_over_whose_new_pods_never_get_ready_is_rolled_back(release: ReleaseUnderTest):
    release.deploy({"image.tag": "1.5.0"})
    before = release.workload()

    done = run(
        [
            str(ROOT / "scripts" / "migrate-to-statefulset"),
            "--yes",
            "-n",
            release.namespace,
            "--set",
            "image.tag=0.0.0-missing",
            "--stall-timeout",
            "10s",
        ],
        env=release.kube.env(),
        timeout=600,
        check=False,
    )
    error = done.stderr.strip().splitlines()[-1]
    print(f"\n{done.stdout[-3000:]}\n{error}")

    assert done.returncode == cli.Exit.ROLLED_BACK
    assert "stalled" in error and "0.0.0-missing" in error
    assert "rolled back: deployment/dummy-flask-app has its 3 Ready pods again" in error
    assert [w["metadata"]["uid"] for w in release.workloads()] == [before["metadata"]["uid"]]
    assert len(release.settled_pods("1.5.0", 3)) == 3
    assert release.kube.get("service", HEADLESS, release.namespace) is None
    history = json.loads(release.helm("history", release.name, "--output", "json"))
    assert [r["status"] for r in history] == ["deployed"], "helm never ran"
    # The scaling left no field owner behind that Helm 4's server-side apply would trip on.
    release.deploy({"image.tag": "1.5.0", "replicaCount": "2"})
    assert len(release.settled_pods("1.5.0", 2)) == 2


def test_an_upgrade_that_forgets_the_kind_is_refused_and_changes_nothing(
    release: ReleaseUnderTest,
):
    """Installed as a StatefulSet, upgraded with only a new tag (helm reuses no earlier value
    once any is given, so the kind falls back to the default Deployment): the chart looks up
    the running StatefulSet and refuses, before anything changes."""
    release.deploy({"workload.kind": "StatefulSet", "replicaCount": 1, "image.tag": "1.0.0"})
    before = release.workload()

    args = helm_chart_args(
        "upgrade", release=release.name, namespace=release.namespace, set={"image.tag": "1.5.0"}
    )
    done = release.kube.helm(*args, "--wait", "--timeout", "1m", check=False)

    assert done.returncode != 0
    assert (
        "workload.kind: release dummy-flask-app runs a StatefulSet and these values render a"
        " Deployment" in done.stderr
    )
    assert "scripts/migrate-to-deployment" in done.stderr
    assert "workload.switchKind=true" in done.stderr
    script = run(
        [str(ROOT / "scripts" / "deploy"), "-n", release.namespace, "--set", "image.tag=1.5.0"],
        env=release.kube.env(),
        check=False,
    )
    assert script.returncode == cli.Exit.REFUSED
    assert script.stderr.strip().splitlines()[-1] == (
        "scripts/deploy: error: release dummy-flask-app runs a StatefulSet and these values"
        " render a Deployment; if that is not meant, give workload.kind=StatefulSet (or"
        " --reuse-values); to switch, hand the pods over one at a time with"
        " scripts/migrate-to-deployment, or set workload.switchKind=true for a plain switch"
        " (seconds without a Ready pod)"
    )
    assert "+ " not in script.stdout, "the script ran no command"

    [after] = release.workloads()
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    history = json.loads(release.helm("history", release.name, "--output", "json"))
    assert [r["status"] for r in history] == ["deployed"]
    assert len(release.settled_pods("1.0.0", 1)) == 1
