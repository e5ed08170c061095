"""NOTES.txt: what the operator reads right after `helm upgrade --install`.

Rendered with the pinned Helm 4 only: Helm 3's `install --dry-run=client` still asks a cluster
for its version, and `helm template` prints no notes on either.
"""

from __future__ import annotations

import pytest

from harness.chart.render import notes


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        ("Deployment", "kubectl -n opseng rollout status deployment/dummy-flask-app"),
        ("StatefulSet", "kubectl -n opseng rollout status statefulset/dummy-flask-app"),
    ],
)
def test_notes_say_how_to_watch_the_rollout_of_the_rendered_kind(kind, command):
    assert command in notes(set={"workload.kind": kind})


def test_notes_of_an_ipool_deployment_name_the_pool_and_how_to_spot_a_stall():
    text = notes(set={"ipool.enabled": True})
    assert 'IP pool "dummy-flask-app-ipool"' in text
    assert "reason=FailedSchedulingIP" in text


@pytest.mark.parametrize(
    ("values", "peak"),
    [
        (
            {"ipool.enabled": True},
            "runs up to 3 pods at once; the chart checked that against\nipool.size (3)",
        ),
        (
            {"ipool.enabled": True, "ipool.size": 4},
            "runs up to 4 pods at once; the chart checked that against\nipool.size (4)",
        ),
    ],
    ids=["pool-of-replicas", "n-plus-1-pool"],
)
def test_notes_count_the_peak_pods_the_guard_checked(values, peak):
    assert peak in notes(set=values)


@pytest.mark.parametrize(
    "values",
    [
        {"workload.kind": "StatefulSet", "ipool.enabled": True},
        {"ipool.enabled": False},
        {"ipool.enabled": True},
        {"ipool.enabled": True, "ipool.size": 4},
    ],
    ids=[
        "statefulset-with-ipool",
        "deployment-without-ipool",
        "deployment-with-ipool",
        "deployment-with-n-plus-1-pool",
    ],
)
def test_notes_do_not_warn_about_a_rollout_the_guard_accepted(values):
    """The chart refuses every rollout that needs more IPs than ipool.size, so whatever
    renders is safe and a warning would teach operators to ignore the notes."""
    assert "WARNING" not in notes(set=values)


def test_notes_of_an_autoscaled_release_give_its_replica_range():
    text = notes(set={"autoscaling.enabled": True})
    assert "with 2 to 6 replicas (HorizontalPodAutoscaler dummy-flask-app)" in text
