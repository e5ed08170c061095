"""The capacity guard: a rollout must never need more IPs than the pool holds."""

from __future__ import annotations

import pytest

from tests.rollout_cases import FITS, IPOOL, STALLS, deployment, rolling


def test_ipool_deployment_defaults_to_replacing_without_surge(render):
    strategy = render(values=deployment()).workload["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
    }


def test_ipool_deployment_surges_into_a_spare_ip_when_the_pool_has_one(render):
    strategy = render(values=deployment(size=4)).workload["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_a_user_strategy_wins_over_the_ipool_default(render):
    strategy = rolling(max_surge=1, max_unavailable=0)
    assert (
        render(values=deployment(size=4, strategy=strategy)).workload["spec"]["strategy"]
        == strategy
    )


def test_without_ipool_the_deployment_keeps_the_kubernetes_default(render):
    assert "strategy" not in render(values={"ipool": {"size": 3}}).workload["spec"]


@pytest.mark.parametrize(("replicas", "size", "strategy"), FITS.values(), ids=FITS.keys())
def test_a_rollout_that_fits_the_pool_renders(render, replicas, size, strategy):
    workload = render(values=deployment(replicas, size, strategy)).workload
    assert workload["spec"]["strategy"] == strategy


@pytest.mark.parametrize(
    ("replicas", "size", "strategy", "peak"), STALLS.values(), ids=STALLS.keys()
)
def test_a_rollout_that_would_stall_is_refused_with_its_numbers(
    render_error, replicas, size, strategy, peak
):
    message = render_error(values=deployment(replicas, size, strategy))
    holds = size or replicas
    assert f"runs up to {peak} pods (replicaCount {replicas} + maxSurge" in message
    assert f"the pool holds {holds} IPs" in message
    assert f"ipool.size={peak}" in message
    assert "workload.kind=StatefulSet" in message


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_a_pool_smaller_than_replica_count_is_refused(render_error, kind):
    values = {"workload": {"kind": kind}, "replicaCount": 3, "ipool": {**IPOOL, "size": 2}}
    message = render_error(values=values)
    assert "ipool.size: the pool holds 2 IPs but replicaCount is 3" in message


def test_a_statefulset_fits_a_pool_of_exactly_replica_count(render):
    values = {"workload": {"kind": "StatefulSet"}, "replicaCount": 3, "ipool": {**IPOOL, "size": 3}}
    assert render(values=values).workload["spec"]["replicas"] == 3


def test_a_statefulset_ignores_a_surging_deployment_strategy(render):
    values = {"workload": {"kind": "StatefulSet"}, **deployment(3, 3, rolling(2, 0))}
    assert render(values=values).workload["kind"] == "StatefulSet"


def test_without_ipool_a_surging_strategy_is_not_checked_against_a_pool(render):
    values = {"ipool": {"size": 1}, "strategy": rolling(5, 0)}
    assert render(values=values).workload["spec"]["strategy"] == rolling(5, 0)


def test_both_surge_and_unavailable_zero_is_refused(render_error):
    assert "maxSurge and maxUnavailable cannot both be 0" in render_error(
        values={"strategy": rolling(0, "0%")}
    )
