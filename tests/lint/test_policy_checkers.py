"""The rendered chart passes kube-score and checkov, except for what its README lists on purpose.

Both checkers score the chart rendered with its defaults and with each ci/*-values.yaml
(harness.chart.policy). The chart README's "## Policy checkers" section lists each deliberate
finding, one line per check with its reason; the two sets must be equal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chart import policy
from harness.chart.render import ci_values_files
from harness.core.tools import ROOT, tool_path
from harness.toolchain.gotools import (
    CHECKOV_PYTHON,
    KUBE_SCORE,
    checkov_installed,
    checkov_pin,
)
from tests.chart.test_kubernetes_schemas import EVERY_OPTION

pytestmark = pytest.mark.lint

README = policy.README_FILE.relative_to(ROOT)
# What a careless chart could render: no resources, a privileged container as root, :latest.
BAD_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: careless
  namespace: opseng
  annotations:
    # Neither checker's in-chart suppression may hide a finding from the README's list.
    kube-score/ignore: container-security-context-privileged
    checkov.io/skip1: CKV_K8S_16=hidden in the chart
spec:
  replicas: 1
  selector:
    matchLabels:
      app: careless
  template:
    metadata:
      labels:
        app: careless
    spec:
      containers:
        - name: app
          image: example.invalid/app:latest
          securityContext:
            privileged: true
"""


@pytest.fixture(scope="module")
def renders() -> list[policy.Render]:
    """The renders the README's list covers, and one with every optional object on, so a
    finding about an Ingress or a NetworkPolicy cannot hide behind its default of off."""
    return [*policy.chart_renders(), policy.render_chart(EVERY_OPTION.name, [EVERY_OPTION])]


CARELESS = policy.Render("careless.yaml", BAD_DEPLOYMENT)


@pytest.fixture(scope="module")
def checked(renders) -> list[policy.Finding]:
    """Both checkers' findings in the chart's renders and in CARELESS, in one checkov run
    (it takes seconds to start); kube-score exits 1 on CARELESS, which is not a crash."""
    assert CARELESS.name not in {render.name for render in renders}
    return policy.findings([*renders, CARELESS])


@pytest.fixture(scope="module")
def found(checked) -> list[policy.Finding]:
    return [finding for finding in checked if finding.render != CARELESS.name]


@pytest.fixture(scope="module")
def careless(checked) -> list[policy.Finding]:
    return [finding for finding in checked if finding.render == CARELESS.name]


def test_every_policy_finding_is_fixed_or_listed_in_the_chart_readme(found):
    listed = policy.listed()
    unlisted = [finding for finding in found if finding.key not in listed]
    assert not unlisted, (
        "the policy checkers found what the chart README does not list:\n"
        + "\n".join(
            f"  {f.checker} {f.check} on {f.object} in the {f.render} render: {f.message}"
            for f in unlisted
        )
        + f"\nEither fix the chart, or list the check under '{policy.SECTION}' in {README} as"
        " '- <checker> `<check id>`: <reason>'."
    )


def test_every_finding_listed_in_the_chart_readme_still_occurs(found):
    stale = sorted(set(policy.listed()) - {finding.key for finding in found})
    assert not stale, (
        "the chart README lists findings that no render has any more; remove their lines from"
        f" '{policy.SECTION}' in {README}: "
        + ", ".join(f"{checker} {check}" for checker, check in stale)
    )


def test_the_defaults_and_every_ci_values_file_are_rendered(renders):
    names = [render.name for render in policy.chart_renders()]
    assert names == [policy.DEFAULT_RENDER, *(path.name for path in ci_values_files())]
    assert len(names) > 1, "no ci/*-values.yaml render"


def test_both_checkers_flag_a_container_without_resources(careless):
    flagged = {(f.checker, f.check, f.kind, f.name, f.container) for f in careless}
    assert ("kube-score", "container-resources", "Deployment", "careless", "app") in flagged
    assert ("checkov", "CKV_K8S_13", "Deployment", "careless", "app") in flagged  # no limit


def test_each_finding_names_the_render_it_was_found_in(checked):
    # One checkov run covers every render: its findings go back to the file they came from.
    renders_of_careless = {f.render for f in checked if f.name == "careless"}
    assert renders_of_careless == {CARELESS.name}
    assert any(f.render != CARELESS.name for f in checked)


def test_an_annotation_in_the_chart_cannot_hide_a_finding(careless):
    flagged = {(f.checker, f.check, f.kind, f.name) for f in careless}
    assert ("kube-score", "container-security-context-privileged", "Deployment", "careless") in (
        flagged
    )
    assert ("checkov", "CKV_K8S_16", "Deployment", "careless") in flagged


def fake_checker(tmp_path: Path, script: str) -> Path:
    path = tmp_path / "checker"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("exit_code", [1, 2], ids=["exit-1", "exit-2"])
def test_a_kube_score_that_prints_no_report_raises_with_its_stderr(tmp_path, exit_code):
    crashing = fake_checker(tmp_path, f"echo 'panic: out of sorts' >&2; exit {exit_code}")

    with pytest.raises(policy.PolicyError, match="panic: out of sorts"):
        policy.kube_score(CARELESS, binary=crashing)


def test_a_checkov_that_scans_nothing_raises_with_its_stderr(tmp_path):
    blind = fake_checker(
        tmp_path, 'echo \'{"passed": 0, "failed": 0, "resource_count": 0}\'; echo lost >&2'
    )

    with pytest.raises(policy.PolicyError, match=r"scanned 0 objects of the 1 rendered:\nlost"):
        policy.checkov([CARELESS], binary=blind)


def test_checkov_runs_without_the_callers_api_key_or_settings(monkeypatch):
    monkeypatch.setenv("BC_API_KEY", "secret")
    monkeypatch.setenv("CKV_SKIP_CHECK", "CKV_K8S_16")

    env = policy.checkov_env()

    assert "BC_API_KEY" not in env
    assert "CKV_SKIP_CHECK" not in env
    assert env["BC_SKIP_MAPPING"] == "TRUE"
    assert env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] == "true"
    assert "--skip-download" in policy.CHECKOV_ARGS


def test_a_readme_line_that_cannot_be_read_is_an_error():
    readme = f"# Chart\n\n{policy.SECTION}\n\n- kube-score container-resources: no backticks\n"

    with pytest.raises(policy.PolicyError, match="cannot read '- kube-score container-resources"):
        policy.listed(readme)


def test_the_readme_section_ends_at_the_next_heading():
    readme = f"{policy.SECTION}\n\n- checkov `CKV_K8S_43`: tags.\n\n## Later\n\n- not a finding\n"

    assert policy.listed(readme) == {("checkov", "CKV_K8S_43"): "tags."}


def test_the_checkers_are_installed_at_their_pinned_versions():
    assert KUBE_SCORE.is_pinned(tool_path(KUBE_SCORE.name)), "run `make setup`"
    assert checkov_installed() == checkov_pin(), "run `make setup`"
    assert tool_path("checkov").resolve() == CHECKOV_PYTHON.parent.resolve() / "checkov"
