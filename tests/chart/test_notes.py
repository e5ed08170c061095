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


def test_notes_warn_about_a_deployment_with_ipool():
    text = notes(set={"ipool.enabled": True})
    assert "WARNING" in text
    assert "FailedSchedulingIP" in text
    assert 'IP pool "dummy-flask-app-ipool"' in text
    assert "runs up to 3 pods at once, so the pool must\nhold 3 IPs (ipool.size: 3)" in text


def test_notes_count_the_spare_ip_of_an_n_plus_1_pool():
    text = notes(set={"ipool.enabled": True, "ipool.size": 4})
    assert "runs up to 4 pods at once, so the pool must\nhold 4 IPs (ipool.size: 4)" in text


@pytest.mark.parametrize(
    "values",
    [{"workload.kind": "StatefulSet", "ipool.enabled": True}, {"ipool.enabled": False}],
    ids=["statefulset-with-ipool", "deployment-without-ipool"],
)
def test_notes_do_not_warn_when_the_rollout_is_safe(values):
    assert "WARNING" not in notes(set=values)
