"""Scenario 4: upgrading from the previous chart in git history to the working tree.

An immutable field the working tree changed (a selector label, serviceName,
podManagementPolicy) makes this upgrade fail on a real API server.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from harness.chart.render import CHART_DIR, WORKLOAD_KINDS
from tests.e2e.release import ReleaseUnderTest
from tests.support.chart_history import ChartHistory

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def previous_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    history = ChartHistory()
    past = history.previous()
    if past is None:
        # Not a skip: a CI run that upgrades from nothing would pass without testing anything.
        pytest.fail(
            f"nothing to upgrade from: git history of {history.repo} (deepened if it was a "
            f"shallow clone) holds a single state of {history.chart}; run this test from a clone "
            "that has the chart's earlier commits"
        )
    print(f"upgrading from {past}")
    return history.export(past, tmp_path_factory.mktemp("previous-chart"))


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_upgrade_from_the_previous_chart_in_git_succeeds(
    release: ReleaseUnderTest, previous_chart: Path, kind: str
):
    release.upgrade(previous_chart, {"workload.kind": kind, "image.tag": "1.0.0"})
    release.settled_pods("1.0.0", 3)
    before = release.workload()

    release.deploy({"workload.kind": kind, "image.tag": "1.5.0"})

    release.settled_pods("1.5.0", 3)
    after = release.workload()
    assert after["metadata"]["uid"] == before["metadata"]["uid"], "upgraded in place"
    revisions = release.helm("history", release.name, "--output", "json")
    assert revisions.count('"status":"deployed"') == 1


def test_a_chart_release_that_changes_nothing_for_the_pods_leaves_them_running(
    release: ReleaseUnderTest, tmp_path: Path
):
    """The same chart under a new version, the same values: every pod keeps its UID (on the
    IP-pool platform, its public IP), while the release's objects carry the new version."""
    values = {"workload.kind": "StatefulSet", "image.tag": "1.5.0"}
    release.deploy(values)
    before = {pod["metadata"]["name"]: pod["metadata"]["uid"] for pod in release.pods()}
    bumped = tmp_path / CHART_DIR.name
    shutil.copytree(CHART_DIR, bumped)
    chart = yaml.safe_load((bumped / "Chart.yaml").read_text())
    chart["version"] = f"{chart['version']}-next"
    (bumped / "Chart.yaml").write_text(yaml.safe_dump(chart))

    release.upgrade(bumped, values)

    assert release.workload()["metadata"]["labels"]["helm.sh/chart"].endswith("-next")
    after = {
        pod["metadata"]["name"]: pod["metadata"]["uid"] for pod in release.settled_pods("1.5.0", 3)
    }
    assert after == before
