"""chart-testing's own install test on the real node: `ct install --upgrade`, the command chart
repositories run in their CI, against the local cluster.

For every `ci/*-values.yaml` ct installs the chart, waits for it, runs `helm test`, upgrades
it in place and tests again; and it first tries the upgrade from the previous revision, which
it takes from its target branch. Here that branch is the chart's previous version in git
(tests/support/chart_history.py), set as a remote-tracking ref in a scratch clone so the
developer's repository is left alone. ct skips that one step by its own rule when the version
bump declares a breaking change (0.4.x to 0.5.0 does: `~0.4.0` excludes it);
tests/e2e/test_upgrade_from_git.py upgrades from that version regardless.

ct runs every install in one namespace made here, because the node pulls the image only with
the chart's pull secret, which exists in the namespaces the harness prepares.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.chart.render import CHART_DIR, ci_values_files
from harness.cluster.local import LocalCluster
from harness.core.proc import run
from harness.core.tools import ROOT, tool_env, tool_path
from harness.kube.client import Kube
from tests.support.chart_history import ChartHistory

pytestmark = [pytest.mark.e2e, pytest.mark.node]

TARGET = "ct-previous-version"
CT_TIMEOUT_S = 1500.0


def scratch_repo(tmp_path: Path) -> tuple[Path, str]:
    """A clone of the repository whose chart is the working tree's, with the previous
    version of the chart as `origin/ct-previous-version`; returns it and that version."""
    past = ChartHistory().previous()
    assert past is not None, "no earlier chart in git history to upgrade from"
    repo = tmp_path / "repo"
    run(["git", "clone", "--quiet", str(ROOT), str(repo)])
    shutil.rmtree(repo / "charts")
    shutil.copytree(ROOT / "charts", repo / "charts")
    shutil.copy(ROOT / "ct.yaml", repo / "ct.yaml")
    run(["git", "-C", str(repo), "update-ref", f"refs/remotes/origin/{TARGET}", past.commit])
    return repo, past.version


@pytest.mark.node_shares(2)  # ci/custom-resources-values.yaml: three pods at 250m in its rollout
def test_ct_install_with_upgrade_passes_on_the_real_node(
    kube: Kube, local_cluster: LocalCluster | None, namespace: str, tmp_path: Path
):
    if local_cluster is None:
        pytest.skip("the pull secret is prepared on the local cluster's namespaces only")
    repo, previous = scratch_repo(tmp_path)
    env = {**tool_env(), "KUBECONFIG": str(kube.kubeconfig)}
    done = run(
        [
            tool_path("ct"),
            "install",
            "--config",
            "ct.yaml",
            "--charts",
            CHART_DIR.relative_to(ROOT).as_posix(),
            "--upgrade",
            "--target-branch",
            TARGET,
            "--namespace",
            namespace,
        ],
        cwd=repo,
        env=env,
        timeout=CT_TIMEOUT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    print(f"\nct install --upgrade, previous version {previous}:\n{output[-6000:]}")

    assert done.returncode == 0, output[-6000:]
    assert "✔︎ dummy-flask-app" in output
    for values in ci_values_files():
        # Once installed and tested, once upgraded in place and tested again.
        assert output.count(f"ci/{values.name}") >= 2, values.name
    assert output.count("Phase:          Succeeded") >= 2 * len(ci_values_files())
