"""The chart passes the real linters: ct, `helm lint --strict` on Helm 4 and Helm 3, yamllint.

Every command runs through harness.core.proc.run, so a failure shows the command, stdout and stderr.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.chart.render import CHART_DIR, ci_values_files
from harness.core.proc import run
from harness.core.tools import ROOT, tool_env, tool_path
from harness.toolchain.gotools import CT, HELM, HELM3
from tests.support.chart_history import ChartHistory

pytestmark = pytest.mark.lint

CHART = CHART_DIR
CI_VALUES = ci_values_files()
# The .tools/bin names of the two Helms, with the same test ids as tests/conftest.py.
HELMS = pytest.mark.parametrize("helm_tool", [HELM.name, HELM3.name], ids=["helm4", "helm3"])
LINTCONF = ROOT / ".ct" / "lintconf.yaml"
ATTEMPTS_FOR_HELMS_MESSAGE = 3


def ct_lint(
    repo: Path, helm_tool: str = HELM.name, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`ct lint --all` in ``repo`` (which holds ct.yaml), with ``helm_tool`` as `helm` on PATH."""
    return run(
        [tool_path(CT.name), "lint", "--config", "ct.yaml", "--all"],
        cwd=repo,
        env=tool_env(helm_tool),
        check=check,
    )


@HELMS
def test_ct_lint_passes(helm_tool: str) -> None:
    assert "All charts linted successfully" in ct_lint(ROOT, helm_tool).stdout


def test_there_are_ci_values_files() -> None:
    assert CI_VALUES, f"no ci/*-values.yaml in {CHART}"


@HELMS
@pytest.mark.parametrize("values", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_helm_lint_strict_passes_with_ci_values(helm_tool: str, values: Path) -> None:
    run([tool_path(helm_tool), "lint", "--strict", CHART, "-f", values], env=tool_env())


def test_yamllint_passes_on_chart_and_values_files() -> None:
    files = [CHART / "Chart.yaml", CHART / "values.yaml", *CI_VALUES]
    run([tool_path("yamllint"), "--strict", "--config-file", LINTCONF, *files], env=tool_env())


def _drop_version(chart: Path) -> None:
    _edit_chart_yaml(chart, lambda meta: meta.pop("version"))


def _unknown_field(chart: Path) -> None:
    _edit_chart_yaml(chart, lambda meta: meta.update(owner="someone"))


def _nameless_maintainer(chart: Path) -> None:
    _edit_chart_yaml(chart, lambda meta: meta.update(maintainers=[{"email": "a@example.com"}]))


def _yes_as_boolean(chart: Path) -> None:
    with (chart / "values.yaml").open("a") as values:
        values.write("lintProbe: yes\n")


def _undefined_template_function(chart: Path) -> None:
    (chart / "templates" / "broken.yaml").write_text("x: {{ .Values | noSuchFunction }}\n")


def _edit_chart_yaml(chart: Path, edit: Callable[[dict], object]) -> None:
    path = chart / "Chart.yaml"
    meta = yaml.safe_load(path.read_text())
    edit(meta)
    path.write_text(yaml.safe_dump(meta, sort_keys=False))


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_drop_version, r"chart\.metadata\.version is required"),
        (_unknown_field, "owner: Unexpected element"),
        (_nameless_maintainer, r"maintainers\.0\.name: Required field missing"),
        (_yes_as_boolean, "truthy value should be one of"),
        (_undefined_template_function, "noSuchFunction"),
    ],
    ids=[
        "chart-without-version",
        "unknown-chart-field",
        "maintainer-without-name",
        "yes-as-boolean",
        "bad-template",
    ],
)
def test_ct_lint_fails_on_a_broken_chart(
    tmp_path: Path, breakage: Callable[[Path], None], expected: str
) -> None:
    shutil.copy(ROOT / "ct.yaml", tmp_path)
    shutil.copytree(ROOT / ".ct", tmp_path / ".ct")
    chart = shutil.copytree(CHART, tmp_path / "charts" / CHART.name)
    breakage(chart)

    # ct copies helm's output from a goroutine and sometimes exits before the copy is done,
    # more often on a busy machine. The exit status never varies, so every attempt must fail;
    # helm's own message must show in one of them.
    outputs = []
    for _ in range(ATTEMPTS_FOR_HELMS_MESSAGE):
        result = ct_lint(tmp_path, check=False)
        outputs.append(result.stdout + result.stderr)
        assert result.returncode != 0, outputs[-1]
        if re.search(expected, outputs[-1]):
            break
    else:
        pytest.fail(f"{expected!r} not in any of {len(outputs)} ct runs:\n" + outputs[-1])


# --- ct's version-increment check, against the last release -------------------------------

LAST_RELEASE_BRANCH = "last-release"


@pytest.fixture
def since_last_release(tmp_path: Path) -> tuple[Path, str]:
    """A clone holding this working tree's chart, with `origin/last-release` at the last
    commit of the chart's previous version: (the clone, that version). ct.yaml leaves the
    check off for `ct lint --all`, since a fresh clone has no such branch; this makes one."""
    past = ChartHistory().previous()
    if past is None or past.version == ChartHistory().working_version():
        pytest.skip(f"no earlier chart version to compare with ({past})")
    clone = tmp_path / "repo"
    run(["git", "clone", "--quiet", str(ROOT), str(clone)])
    shutil.rmtree(clone / "charts" / CHART.name)
    shutil.copytree(CHART, clone / "charts" / CHART.name)
    ref = f"refs/remotes/origin/{LAST_RELEASE_BRANCH}"
    run(["git", "-C", str(clone), "update-ref", ref, past.commit])
    return clone, past.version


def ct_version_check(repo: Path) -> subprocess.CompletedProcess[str]:
    """`ct lint` of the charts changed since the last release, with its version check."""
    flags = ["--target-branch", LAST_RELEASE_BRANCH, "--check-version-increment"]
    command = [tool_path(CT.name), "lint", "--config", "ct.yaml", "--remote", "origin", *flags]
    return run(command, cwd=repo, env=tool_env(HELM.name), check=False)


def test_ct_finds_the_chart_version_above_the_last_release(since_last_release):
    clone, _ = since_last_release
    done = ct_version_check(clone)
    assert done.returncode == 0 and "All charts linted successfully" in done.stdout, (
        done.stdout + done.stderr
    )


def test_ct_refuses_a_changed_chart_still_at_the_last_releases_version(since_last_release):
    clone, last = since_last_release
    _edit_chart_yaml(clone / "charts" / CHART.name, lambda chart: chart.update(version=last))
    done = ct_version_check(clone)
    assert done.returncode != 0
    assert "chart version not ok. Needs a version bump!" in done.stdout + done.stderr
