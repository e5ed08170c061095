"""The rollout plan agrees with the controllers' arithmetic and with the chart's guard."""

from __future__ import annotations

import pytest

from harness.chart import plan
from harness.chart.render import CI_VALUES_DIR
from harness.ops import cli, rollout_plan
from tests.rollout_cases import FITS, STALLS, deployment


@pytest.mark.parametrize(
    ("value", "replicas", "round_up", "pods"),
    [
        ("25%", 3, True, 1),
        ("25%", 3, False, 0),
        ("11%", 10, True, 2),
        ("10%", 10, True, 1),
        ("100%", 3, False, 3),
        (2, 5, True, 2),
        ("0", 5, True, 0),
    ],
)
def test_percentages_round_like_the_deployment_controller(value, replicas, round_up, pods):
    assert plan.pod_count(value, replicas, round_up=round_up) == pods


def test_default_deployment_surges_one_pod_and_keeps_all_ready(render):
    found = plan.plan_for(render().workload)
    assert (found.peak_pods, found.min_ready, found.peak_ips, found.fits) == (4, 3, None, None)


def test_zero_surge_and_rounded_down_unavailable_still_replace_one_pod():
    workload = {
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "replicas": 3,
            "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "25%"}},
        },
    }
    found = plan.plan_for(workload)
    assert (found.peak_pods, found.min_ready) == (3, 2)


def test_statefulset_never_needs_more_ips_than_replicas(render):
    values = CI_VALUES_DIR / "statefulset-ipool-values.yaml"
    found = plan.plan_for(render(values_files=[values]).workload)
    assert (found.peak_pods, found.peak_ips, found.min_ready, found.fits) == (3, 3, 2, True)
    assert found.pool == "dummy-flask-app-ipool"


@pytest.mark.parametrize(
    ("limit", "partition", "at_once", "strategy"),
    [
        (2, 0, 2, "maxUnavailable 2"),
        ("50%", 0, 2, "maxUnavailable 50% (= 2 pods)"),
        ("10%", 0, 1, "maxUnavailable 10% (= 1 pods)"),
        ("100%", 0, 5, "maxUnavailable 100% (= 5 pods)"),
        (4, 3, 2, "maxUnavailable 4 (= 2 pods)"),
    ],
)
def test_a_statefulset_replaces_max_unavailable_pods_at_once_rounded_down(
    render, limit, partition, at_once, strategy
):
    """As the StatefulSet controller counts: a percentage of replicas rounded down, at least
    one pod, and never more than the pods at or above the partition."""
    rolling = {"maxUnavailable": limit, "partition": partition}
    values = {
        "workload": {"kind": "StatefulSet"},
        "replicaCount": 5,
        "ipool": {"enabled": True},
        "updateStrategy": {"rollingUpdate": rolling},
    }
    found = plan.plan_for(render(values=values).workload)
    assert (found.peak_pods, found.peak_ips, found.min_ready) == (5, 5, 5 - at_once)
    assert f"(OrderedReady), {strategy}" in found.strategy


@pytest.mark.parametrize(("replicas", "size", "strategy"), FITS.values(), ids=FITS.keys())
def test_plan_agrees_the_pool_suffices_wherever_the_chart_accepts(render, replicas, size, strategy):
    found = plan.plan_for(render(values=deployment(replicas, size, strategy)).workload)
    assert found.fits is True
    assert found.peak_ips <= (size or replicas)


@pytest.mark.parametrize(
    ("replicas", "size", "strategy", "peak"), STALLS.values(), ids=STALLS.keys()
)
def test_plan_computes_the_same_peak_the_chart_refuses(render, replicas, size, strategy, peak):
    unguarded = {**deployment(replicas, size, strategy), "ipool": {"enabled": False}}
    assert plan.plan_for(render(values=unguarded).workload).peak_pods == peak


def test_plans_show_the_chart_refusal_and_the_kind_that_works(helm):
    found = plan.plans(set={"ipool.enabled": "true", "strategy.type": "RollingUpdate"}, helm=helm)
    deployment_plan, statefulset_plan, *switches = found
    assert "runs up to 4 pods" in deployment_plan.refused
    assert statefulset_plan.refused is None and statefulset_plan.fits is True
    assert [s.kind for s in switches] == ["switch to StatefulSet by hand-over"]


def test_a_hand_over_needs_the_replicas_ips_and_keeps_all_but_one_pod_ready(helm):
    switches = plan.plans(set={"ipool.enabled": "true", "replicaCount": "5"}, helm=helm)[2:]
    assert [s.kind for s in switches] == [
        "switch to Deployment by hand-over",
        "switch to StatefulSet by hand-over",
    ]
    assert {(s.peak_pods, s.peak_ips, s.min_ready, s.fits) for s in switches} == {(5, 5, 4, True)}


def test_text_report_marks_the_configured_kind(capsys):
    assert rollout_plan.main(["-f", str(CI_VALUES_DIR / "deployment-ipool-values.yaml")]) == 0
    out = capsys.readouterr().out
    assert "Deployment (as configured)" in out
    assert "peak IPs:       4 of 4 in pool dummy-flask-app-ipool" in out
    assert out.count("pool suffices:  yes") == 4, "both kinds, and a switch to either"


def test_markdown_report_is_one_table_row_per_kind_and_per_switch(capsys):
    assert rollout_plan.main(["--set", "ipool.enabled=true", "--format", "md"]) == 0
    header, separator, *rows = capsys.readouterr().out.splitlines()
    assert header.startswith("| Kind |") and separator.startswith("| --- |")
    assert len(rows) == 4
    assert rows[0] == (
        "| Deployment (as configured) | RollingUpdate maxSurge 0, maxUnavailable 1 "
        "| 3 | 3 | 2 | 3 / 3 | yes |"
    )
    assert rows[1].startswith("| StatefulSet |")
    assert rows[2].startswith("| switch to Deployment by hand-over |")


def test_refused_values_still_print_the_plan_and_fail(capsys):
    refused = rollout_plan.main(["--set", "ipool.enabled=true", "--set", "ipool.size=2"])
    assert refused == cli.Exit.REFUSED
    captured = capsys.readouterr()
    assert "refused by the chart: ipool.size: the pool holds 2 IPs" in captured.out
    assert "error: the chart refuses these values" in captured.err


def test_an_autoscaled_plan_counts_the_most_pods_the_autoscaler_may_run(helm):
    values = {
        "ipool.enabled": "true",
        "ipool.size": "5",
        "autoscaling.enabled": "true",
        "autoscaling.maxReplicas": "5",
    }
    deployment_plan, statefulset_plan, *_ = plan.plans(set=values, helm=helm)
    for found in (deployment_plan, statefulset_plan):
        assert found.autoscaled == (2, 5)
        assert (found.replicas, found.peak_ips, found.pool_size, found.fits) == (5, 5, 5, True)


def test_the_plan_shows_the_chart_refusing_an_autoscaler_beyond_the_pool(helm):
    values = {
        "ipool.enabled": "true",
        "ipool.size": "4",
        "autoscaling.enabled": "true",
        "autoscaling.maxReplicas": "5",
    }
    found = plan.plans(set=values, helm=helm)
    assert [p.refused for p in found] == [
        "ipool.size: the pool holds 4 IPs but autoscaling.maxReplicas is 5, so 1 pod(s) would"
        " never get an IP. Grow the pool (and ipool.size) or lower autoscaling.maxReplicas."
    ] * 2


def test_a_workload_installed_by_an_older_chart_still_shows_its_pool(render):
    """Charts before 0.5.0 recorded the pool under a key without a domain."""
    workload = render(set={"ipool.enabled": True}).workload
    annotations = workload["metadata"]["annotations"]
    workload["metadata"]["annotations"] = {
        key.replace("dummy-flask-app.quantil.com/", "dummy-flask-app/"): value
        for key, value in annotations.items()
    }
    found = plan.plan_for(workload)
    assert (found.pool, found.pool_size) == ("dummy-flask-app-ipool", 3)
