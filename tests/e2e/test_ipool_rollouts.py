"""Every documented way through an ipool rollout, on the cluster, with the ipool emulator.

Each test upgrades 1.0.0 -> 1.5.0 with three replicas (harness.ipool.scenarios) and checks
what the recorder measured; where the chart's rollout plan predicts the numbers, they must
match what happened.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from harness.core.proc import run
from harness.core.retry import wait_for
from harness.core.tools import ROOT
from harness.ipool import emulator, scenarios
from harness.kube.client import Kube
from harness.ops import cli
from tests.e2e.conftest import PAIR

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rehearsal(
    kube: Kube, local_cluster, node_shares, request: pytest.FixtureRequest
) -> Iterator[scenarios.Rehearsal]:
    """The emulator, running for this module; leaving the block uninstalls it, also after a
    failed test (tests/e2e/test_ipool_emulator.py checks that). On the local cluster the
    rehearsals run on the pair of nodes set apart (conftest.PAIR), which leaves the first
    node to the other test processes; elsewhere each rehearsal namespace holds a share of
    the node while it exists."""
    if local_cluster is None:
        setup = {"holding": node_shares.held}
    else:
        request.getfixturevalue("node_pair")
        setup = {"prepare_namespace": lambda ns: local_cluster.allow_pulls(ns, PAIR)}
    with scenarios.Rehearsal(kube, **setup) as rehearsal:
        yield rehearsal


# Rehearsed side by side: how many at a time (elsewhere than on the pair, each holds a share).
AT_ONCE = int(os.environ.get("DFA_REHEARSALS_AT_ONCE", "4"))
WAYS: dict[str, scenarios.Way] = {
    **scenarios.SCENARIOS,
    "statefulset-two-at-once": lambda r: scenarios.chart_rollout(
        r,
        "statefulset-two-at-once",
        "Chart StatefulSet, maxUnavailable 2, pool of 3",
        {"workload.kind": "StatefulSet", "updateStrategy.rollingUpdate.maxUnavailable": "2"},
        scenarios.REPLICAS,
    ),
}
# The write-up's ways share its pool's name and its Service in `default`: one after another.
CHAINS = [("writeup", "adopt-writeup-deployment", "adopt-writeup-statefulset")]
# The longest ways start first, so that the last to finish is not a long one started late.
LONGEST = ("migrate-killed-script", "migrate-script", "migrate-back-script", "two-phase")


@pytest.fixture(scope="module")
def ahead(
    rehearsal: scenarios.Rehearsal, request: pytest.FixtureRequest
) -> Iterator[scenarios.Rehearsals]:
    """Every way that this module's selected tests mark with `rehearses`, started at once."""
    wanted = {
        key
        for item in request.session.items
        if item.module is request.module
        for mark in item.iter_markers("rehearses")
        for key in mark.args
    }
    with scenarios.Rehearsals(rehearsal, AT_ONCE) as rehearsals:
        chained = {key for chain in CHAINS for key in chain}
        for chain in CHAINS:
            rehearsals.start(*[(key, WAYS[key]) for key in chain if key in wanted])
        for key in sorted(wanted - chained, key=lambda key: (key not in LONGEST, key)):
            rehearsals.start((key, WAYS[key]))
        yield rehearsals


def rehearsing(*ways: str) -> list:
    """Parameters of a test that checks one of `ways` each, marked for `ahead`."""
    return [pytest.param(way, marks=pytest.mark.rehearses(way), id=way) for way in ways]


def measured_as_planned(outcome: scenarios.Outcome) -> None:
    m, plan = outcome.measurement, outcome.plan
    assert plan is not None
    assert (m.peak_pods, m.peak_ips, m.min_ready) == (plan.peak_pods, plan.peak_ips, plan.min_ready)


def bare_pod(annotations: dict[str, str]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "bare-", "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
    }


def scheduled(rehearsal, namespace: str, name: str) -> dict | None:
    pod = rehearsal.api.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
    return pod if pod["spec"].get("nodeName") else None


@pytest.mark.usefixtures("ahead")  # the rehearsals run meanwhile
def test_pods_without_the_annotation_are_scheduled_without_an_ip(rehearsal):
    with rehearsal.namespace("bare") as ns:
        pod = rehearsal.api.create(f"/api/v1/namespaces/{ns}/pods", bare_pod({}))
        name = pod["metadata"]["name"]
        placed = wait_for(lambda: scheduled(rehearsal, ns, name), f"pod {name} bound", 60)
        assert emulator.IP_ANNOTATION not in placed["metadata"].get("annotations", {})
        assert not placed["spec"].get("schedulingGates")


@pytest.mark.usefixtures("ahead")  # the rehearsals run meanwhile
def test_pods_outside_emulated_namespaces_are_never_gated(rehearsal, namespace):
    asks = bare_pod({emulator.DEFAULT_POOL_ANNOTATION: "no-such-pool"})
    pod = rehearsal.api.create(f"/api/v1/namespaces/{namespace}/pods", asks)
    assert not pod["spec"].get("schedulingGates")
    name = pod["metadata"]["name"]
    wait_for(lambda: scheduled(rehearsal, namespace, name), f"pod {name} bound", 60)


@pytest.mark.usefixtures("ahead")  # the rehearsals run meanwhile
def test_scripts_deploy_reports_a_rollout_waiting_for_a_free_ip_within_its_stall_time(
    rehearsal: scenarios.Rehearsal,
):
    """The chart told the pool holds 4 IPs when it holds 3: the surge pod never gets one."""
    with rehearsal.namespace("stall") as namespace, rehearsal.pool(namespace, 3):
        common = [
            "-n",
            namespace,
            "--set",
            "ipool.enabled=true",
            "--set",
            f"ipool.name={namespace}",
        ]
        deploy = [str(ROOT / "scripts" / "deploy"), *common, "--timeout", "5m"]
        run([*deploy, "--set", "image.tag=1.0.0"], env=rehearsal.env(), timeout=300)

        began = time.monotonic()
        done = run(
            [
                *deploy,
                "--set",
                "image.tag=1.5.0",
                "--set",
                "ipool.size=4",
                "--stall-timeout",
                "20s",
            ],
            env=rehearsal.env(),
            timeout=300,
            check=False,
        )
        took = time.monotonic() - began
        print(f"\nstopped after {took:.0f} s: {done.stderr.strip().splitlines()[-1]}")

    error = done.stderr.strip().splitlines()[-1]
    assert done.returncode == cli.Exit.STALLED
    assert took < 20 + 30, "the stall time, plus the time to see the pod waiting"
    assert error.startswith(
        "scripts/deploy: error: the rollout of deployment/dummy-flask-app stalled"
    )
    assert "FailedSchedulingIP" in error and "have not freeip" in error
    assert "needs up to 4 IPs at once" in error and "holds 4 (ipool.size)" in error
    assert "workload.kind=StatefulSet" in error


@pytest.mark.rehearses("writeup")
def test_the_writeup_deployment_stalls_with_the_platform_event(ahead):
    outcome = ahead.outcome("writeup")
    m = outcome.measurement
    assert not m.completed
    assert m.failed_scheduling_events > 0
    assert m.peak_ips == 3 and m.peak_pods == 4  # the surge pod exists but gets no IP
    assert outcome.events == (emulator.no_free_ip_message("dummy-flask-app-ipool"),)
    assert outcome.events[0].endswith("ipool dummy-flask-app-ipool have not freeip")


@pytest.mark.rehearses("deployment-guarded")
def test_chart_deployment_with_the_guard_default_fits_a_pool_of_three(ahead):
    outcome = ahead.outcome("deployment-guarded")
    assert outcome.measurement.completed
    assert outcome.measurement.peak_ips <= 3
    measured_as_planned(outcome)


@pytest.mark.rehearses("deployment-n-plus-1")
def test_chart_deployment_surges_into_the_spare_ip_of_a_pool_of_four(ahead):
    outcome = ahead.outcome("deployment-n-plus-1")
    assert outcome.measurement.completed
    assert outcome.measurement.min_ready == 3
    measured_as_planned(outcome)


@pytest.mark.rehearses("statefulset")
def test_statefulset_never_needs_a_fourth_ip(ahead):
    outcome = ahead.outcome("statefulset")
    m = outcome.measurement
    assert m.completed
    assert m.peak_ips <= 3
    assert m.failed_scheduling_events == 0
    measured_as_planned(outcome)


@pytest.mark.rehearses("statefulset-two-at-once")
def test_a_statefulset_replacing_two_pods_at_once_keeps_its_plan_and_its_pool(ahead):
    """updateStrategy.rollingUpdate.maxUnavailable 2 of 3 (on by default since Kubernetes
    1.37): two pods go at once, so one stays Ready, and still no fourth IP is asked for."""
    outcome = ahead.outcome("statefulset-two-at-once")
    m = outcome.measurement
    assert m.completed and m.failed_scheduling_events == 0
    assert outcome.plan is not None and outcome.plan.min_ready == 1
    measured_as_planned(outcome)


@pytest.mark.rehearses("two-phase")
def test_two_phase_rollout_completes_and_reports_its_time_without_public_ips(ahead):
    m = ahead.outcome("two-phase").measurement
    assert m.completed
    assert m.ready_without_ip_seconds > 0
    assert m.peak_ips <= 3


@pytest.mark.parametrize("way", rehearsing("migrate-script", "migrate-back-script"))
def test_a_hand_over_switches_kind_within_the_pool_keeping_all_but_one_pod_ready(ahead, way):
    outcome = ahead.outcome(way)
    measured_as_planned(outcome)
    m = outcome.measurement
    assert m.completed
    assert m.min_ready >= 2 and m.zero_ready_seconds == 0
    assert m.peak_ips <= 3 and m.failed_scheduling_events == 0, "no pod ever waited for an IP"
    assert not m.duplicate_ips


@pytest.mark.rehearses("switch-helm")
def test_a_plain_helm_kind_switch_completes_within_the_pool_but_leaves_no_pod_ready_a_while(
    ahead,
):
    m = ahead.outcome("switch-helm").measurement
    assert m.completed
    assert m.peak_ips <= 3
    assert not m.duplicate_ips
    assert m.min_ready == 0, "what the hand-over scripts avoid"


@pytest.mark.rehearses("migrate-killed-script")
def test_a_hand_over_killed_at_three_steps_and_run_again_keeps_all_but_one_pod_ready(ahead):
    """The killed runs and the last one together move the pods as one hand-over would: at
    least n-1 Ready, never more IPs than the pool, no pod waiting for one."""
    outcome = ahead.outcome("migrate-killed-script")
    m = outcome.measurement
    assert m.completed
    assert m.min_ready >= 2 and m.zero_ready_seconds == 0
    assert m.peak_ips <= 3 and m.failed_scheduling_events == 0
    measured_as_planned(outcome)


@pytest.mark.parametrize("way", rehearsing("adopt-writeup-deployment", "adopt-writeup-statefulset"))
def test_the_writeups_objects_are_adopted_by_a_release_keeping_all_but_one_pod_ready(
    ahead, kube: Kube, way
):
    outcome = ahead.outcome(way)
    m = outcome.measurement
    print(f"\n{way}: {outcome.note}")
    measured_as_planned(outcome)

    assert m.completed
    assert m.min_ready >= 2 and m.zero_ready_seconds == 0
    assert m.peak_ips <= 3 and m.failed_scheduling_events == 0
    assert outcome.note.endswith("then helm upgrade to 1.5.0: ok")
    assert (
        "deployment/dummy-flask-app" in outcome.note
        or "statefulset/dummy-flask-app" in outcome.note
    )
    if way == "adopt-writeup-statefulset":
        # The rehearsal's operator has rights in its own namespace only: the script says
        # what it had to leave, and the cluster admin's step removed it.
        assert "left: service/dummy-flask-app in default" in outcome.note, "the stray Service"
    ahead.wait()  # the next way of the chain may have applied the write-up's Service anew
    assert kube.get("service", "dummy-flask-app", "default") is None


def test_restarting_the_emulator_mid_rollout_never_hands_one_ip_to_two_pods(ahead):
    ahead.wait()  # the restart stops every rehearsal's allocations: it runs alone
    m = scenarios.emulator_restart_mid_rollout(ahead.rehearsal).measurement
    assert m.completed
    assert m.duplicate_ips == []
    assert m.peak_ips <= 3
    assert m.samples > 10
