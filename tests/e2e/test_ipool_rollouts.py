"""Every documented way through an ipool rollout, on the cluster, with the ipool emulator.

Each test upgrades 1.0.0 -> 1.5.0 with three replicas (harness.ipool.scenarios) and checks
what the recorder measured; where the chart's rollout plan predicts the numbers, they must
match what happened.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.core.proc import run
from harness.core.retry import wait_for
from harness.core.tools import ROOT
from harness.ipool import emulator, scenarios
from harness.kube.client import Kube
from harness.ops import cli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rehearsal(kube: Kube, local_cluster) -> Iterator[scenarios.Rehearsal]:
    """The emulator, running for this module; leaving the block uninstalls it, also after a
    failed test (tests/e2e/test_ipool_emulator.py checks that)."""
    prepare = local_cluster.allow_pulls if local_cluster else None
    with scenarios.Rehearsal(kube, prepare_namespace=prepare) as rehearsal:
        yield rehearsal


def measured_as_planned(outcome: scenarios.Outcome) -> None:
    m, plan = outcome.measurement, outcome.plan
    assert plan is not None
    assert (m.peak_pods, m.peak_ips, m.min_ready) == (plan.peak_pods, plan.peak_ips, plan.min_ready)


def test_the_writeup_deployment_stalls_with_the_platform_event(rehearsal):
    outcome = scenarios.writeup_deployment(rehearsal)
    m = outcome.measurement
    assert not m.completed
    assert m.failed_scheduling_events > 0
    assert m.peak_ips == 3 and m.peak_pods == 4  # the surge pod exists but gets no IP
    assert outcome.events == (emulator.no_free_ip_message("dummy-flask-app-ipool"),)
    assert outcome.events[0].endswith("ipool dummy-flask-app-ipool have not freeip")


def test_chart_deployment_with_the_guard_default_fits_a_pool_of_three(rehearsal):
    outcome = scenarios.SCENARIOS["deployment-guarded"](rehearsal)
    assert outcome.measurement.completed
    assert outcome.measurement.peak_ips <= 3
    measured_as_planned(outcome)


def test_chart_deployment_surges_into_the_spare_ip_of_a_pool_of_four(rehearsal):
    outcome = scenarios.SCENARIOS["deployment-n-plus-1"](rehearsal)
    assert outcome.measurement.completed
    assert outcome.measurement.min_ready == 3
    measured_as_planned(outcome)


def test_statefulset_never_needs_a_fourth_ip(rehearsal):
    outcome = scenarios.SCENARIOS["statefulset"](rehearsal)
    m = outcome.measurement
    assert m.completed
    assert m.peak_ips <= 3
    assert m.failed_scheduling_events == 0
    measured_as_planned(outcome)


def test_a_statefulset_replacing_two_pods_at_once_keeps_its_plan_and_its_pool(rehearsal):
    """updateStrategy.rollingUpdate.maxUnavailable 2 of 3 (on by default since Kubernetes
    1.37): two pods go at once, so one stays Ready, and still no fourth IP is asked for."""
    outcome = scenarios.chart_rollout(
        rehearsal,
        "statefulset-two-at-once",
        "Chart StatefulSet, maxUnavailable 2, pool of 3",
        {"workload.kind": "StatefulSet", "updateStrategy.rollingUpdate.maxUnavailable": "2"},
        scenarios.REPLICAS,
    )
    m = outcome.measurement
    assert m.completed and m.failed_scheduling_events == 0
    assert outcome.plan is not None and outcome.plan.min_ready == 1
    measured_as_planned(outcome)


def test_two_phase_rollout_completes_and_reports_its_time_without_public_ips(rehearsal):
    m = scenarios.SCENARIOS["two-phase"](rehearsal).measurement
    assert m.completed
    assert m.ready_without_ip_seconds > 0
    assert m.peak_ips <= 3


@pytest.mark.parametrize("way", ["migrate-script", "migrate-back-script"])
def test_a_hand_over_switches_kind_within_the_pool_keeping_all_but_one_pod_ready(rehearsal, way):
    outcome = scenarios.SCENARIOS[way](rehearsal)
    measured_as_planned(outcome)
    m = outcome.measurement
    assert m.completed
    assert m.min_ready >= 2 and m.zero_ready_seconds == 0
    assert m.peak_ips <= 3 and m.failed_scheduling_events == 0, "no pod ever waited for an IP"
    assert not m.duplicate_ips


def test_a_plain_helm_kind_switch_completes_within_the_pool_but_leaves_no_pod_ready_a_while(
    rehearsal,
):
    m = scenarios.SCENARIOS["switch-helm"](rehearsal).measurement
    assert m.completed
    assert m.peak_ips <= 3
    assert not m.duplicate_ips
    assert m.min_ready == 0, "what the hand-over scripts avoid"


def test_restarting_the_emulator_mid_rollout_never_hands_one_ip_to_two_pods(rehearsal):
    m = scenarios.emulator_restart_mid_rollout(rehearsal).measurement
    assert m.completed
    assert m.duplicate_ips == []
    assert m.peak_ips <= 3
    assert m.samples > 10


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


def test_pods_without_the_annotation_are_scheduled_without_an_ip(rehearsal):
    with rehearsal.namespace("bare") as ns:
        pod = rehearsal.api.create(f"/api/v1/namespaces/{ns}/pods", bare_pod({}))
        name = pod["metadata"]["name"]
        placed = wait_for(lambda: scheduled(rehearsal, ns, name), f"pod {name} bound", 60)
        assert emulator.IP_ANNOTATION not in placed["metadata"].get("annotations", {})
        assert not placed["spec"].get("schedulingGates")


def test_pods_outside_emulated_namespaces_are_never_gated(rehearsal, namespace):
    asks = bare_pod({emulator.DEFAULT_POOL_ANNOTATION: "no-such-pool"})
    pod = rehearsal.api.create(f"/api/v1/namespaces/{namespace}/pods", asks)
    assert not pod["spec"].get("schedulingGates")
    name = pod["metadata"]["name"]
    wait_for(lambda: scheduled(rehearsal, namespace, name), f"pod {name} bound", 60)


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


def test_a_hand_over_killed_at_three_steps_and_run_again_keeps_all_but_one_pod_ready(rehearsal):
    """The killed runs and the last one together move the pods as one hand-over would: at
    least n-1 Ready, never more IPs than the pool, no pod waiting for one."""
    outcome = scenarios.SCENARIOS["migrate-killed-script"](rehearsal)
    m = outcome.measurement
    assert m.completed
    assert m.min_ready >= 2 and m.zero_ready_seconds == 0
    assert m.peak_ips <= 3 and m.failed_scheduling_events == 0
    measured_as_planned(outcome)


@pytest.mark.parametrize("way", ["adopt-writeup-deployment", "adopt-writeup-statefulset"])
def test_the_writeups_objects_are_adopted_by_a_release_keeping_all_but_one_pod_ready(
    rehearsal, kube: Kube, way
):
    outcome = scenarios.SCENARIOS[way](rehearsal)
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
    assert kube.get("service", "dummy-flask-app", "default") is None
