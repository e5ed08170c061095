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
