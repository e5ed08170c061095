"""The benchmark of the harness's render path against helm-unittest, checked without measuring.

harness/bench/render.py generates the value sets, writes them as helm-unittest suites, and
renders docs/harness-benchmark.md from a recorded run; harness/toolchain/helm_unittest.py
builds helm-unittest. Nothing here times anything: the figures are the benchmark's to take.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from harness.bench import render as render_bench
from harness.chart.render import render
from harness.core import records
from harness.core.tools import ROOT
from harness.toolchain import helm_unittest

DOCS = ROOT / "docs"


# --- the value sets ---


def test_the_value_sets_are_the_same_for_the_same_seed_and_differ_for_another():
    assert render_bench.value_sets() == render_bench.value_sets()
    assert render_bench.value_sets(seed=render_bench.SEED + 1) != render_bench.value_sets()


def test_there_are_two_hundred_value_sets_and_no_two_are_alike():
    sets = render_bench.value_sets()
    assert len(sets) == render_bench.CASES == 200
    assert len({repr(sorted(values.items())) for values in sets}) == len(sets)


def test_the_value_sets_pair_each_kind_with_ipool_on_and_off_equally():
    sets = render_bench.value_sets()
    pairs = [(render_bench.workload_kind(v), bool(v.get("ipool", {}).get("enabled"))) for v in sets]
    assert {pair: pairs.count(pair) for pair in set(pairs)} == {
        ("Deployment", False): 50,
        ("Deployment", True): 50,
        ("StatefulSet", False): 50,
        ("StatefulSet", True): 50,
    }


def test_the_value_sets_vary_strategies_pool_sizes_replicas_and_overrides():
    sets = render_bench.value_sets()
    covered = render_bench.coverage(sets)
    assert all(count >= 10 for count in covered.values()), covered
    strategies = {str(v.get("strategy", {}).get("type")) for v in sets}
    assert strategies == {"None", "Recreate", "RollingUpdate"}
    updates = {str(v.get("updateStrategy", {}).get("type")) for v in sets}
    assert updates == {"None", "OnDelete", "RollingUpdate"}
    sizes = {v["ipool"]["size"] for v in sets if "ipool" in v}
    assert None in sizes and len(sizes) > 5
    assert len({v["replicaCount"] for v in sets}) == 8


def test_a_deployments_peak_pods_round_a_percentage_surge_up():
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "10%"}}
    assert render_bench.deployment_peak_pods(3, rolling) == 4
    assert render_bench.deployment_peak_pods(3, {"type": "RollingUpdate"}) == 4  # 25% of 3
    assert render_bench.deployment_peak_pods(3, {"type": "Recreate"}) == 3


def test_every_value_set_renders_its_kind_of_workload():
    for values in render_bench.value_sets():
        assert render(values).workload["kind"] == render_bench.workload_kind(values), values


# --- the generated helm-unittest suites (run by the benchmark, which needs helm-unittest) ---


def test_the_suites_render_a_copy_of_the_chart_as_render_does_with_a_values_file_per_set(
    tmp_path: Path,
):
    sets = render_bench.value_sets()[:3]
    workspace = render_bench.prepare(tmp_path, sets)
    assert workspace.chart.parent == tmp_path
    assert (workspace.chart / "values.schema.json").exists()
    suite = render_bench.helm_unittest_suite(sets, whole_chart=False)
    assert suite["templates"] == ["templates/workload.yaml"]
    assert suite["release"] == {"name": "dummy-flask-app", "namespace": "opseng"}
    assert [test["values"] for test in suite["tests"]] == [
        ["values/case-000.yaml"],
        ["values/case-001.yaml"],
        ["values/case-002.yaml"],
    ]
    assert "templates" not in render_bench.helm_unittest_suite(sets, whole_chart=True)


def test_the_chart_digest_changes_with_any_file_of_the_chart(tmp_path: Path, monkeypatch):
    chart = tmp_path / "chart"
    shutil.copytree(render_bench.rendering.CHART_DIR, chart)
    monkeypatch.setattr(render_bench.rendering, "CHART_DIR", chart)
    before = render_bench.chart_digest()
    assert render_bench.chart_digest() == before
    helpers = chart / "templates" / "_helpers.tpl"
    helpers.write_text(helpers.read_text() + "\n")
    assert render_bench.chart_digest() != before


def test_the_old_path_forces_helm_and_the_new_path_leaves_the_choice_to_render(monkeypatch):
    monkeypatch.setenv(render_bench.RENDERER_ENV, "anything")
    assert render_bench.render_path_env(render_bench.OLD_PATH)[render_bench.RENDERER_ENV] == "helm"
    assert render_bench.RENDERER_ENV not in render_bench.render_path_env(render_bench.NEW_PATH)


# --- the page, from a recorded run ---


def _approach(name: str, ms: list[float]) -> render_bench.Approach:
    render_path = name in (render_bench.OLD_PATH, render_bench.NEW_PATH)
    return render_bench.Approach(
        name=name,
        includes=f"what {name} includes",
        ms_per_case=ms,
        first_call_ms=[m * 3 for m in ms] if render_path else [],
        median_call_ms=[m * 0.9 for m in ms] if render_path else [],
        renderer=f"{name}'s renderer",
    )


def _record(new_ms: list[float], helm_unittest_ms: list[float]) -> render_bench.Record:
    return render_bench.Record(
        date="2031-02-03 10:00 UTC",
        machine=render_bench.Machine(
            cores=8, memory_gib=31.96, cpu="Test CPU", kernel="6.1.0-test", load_average=0.04
        ),
        python="3.11.2",
        helm="v4.3.1",
        helm_unittest="v1.1.2 (Helm v3.21.3 library, in-process)",
        chart="0.9.1 at commit abc1234, modified",
        seed=7,
        cases=50,
        value_sets="0123456789abcdef",
        coverage={"Deployment": 25, "StatefulSet": 25},
        rounds=len(new_ms),
        warmup_cases=5,
        renderer_env="DFA_RENDERER",
        duration_s=61.4,
        load_average_after=1.26,
        approaches=[
            _approach(render_bench.HELM_UNITTEST, helm_unittest_ms),
            _approach(render_bench.HELM_UNITTEST_CHART, [m * 1.5 for m in helm_unittest_ms]),
            _approach(render_bench.OLD_PATH, [110.0] * len(new_ms)),
            _approach(render_bench.NEW_PATH, new_ms),
        ],
    )


def _table_rows(page: str, heading: str) -> list[list[str]]:
    lines = page.split(heading, 1)[1].split("\n| --- |", 1)[1].splitlines()[1:]
    found = []
    for line in lines:
        if not line.startswith("|"):
            break
        found.append([cell.strip() for cell in line.strip("|").split("|")])
    return found


def test_the_results_table_shows_each_approachs_median_round_spread_and_ratio():
    page = render_bench.render_doc(_record([4.0, 5.0, 6.0], [10.0, 12.0, 11.0]))
    assert _table_rows(page, "## Results") == [
        ["helm-unittest", "11.0", "10.0 - 12.0", "1.00", "-", "-"],
        ["helm-unittest, whole chart", "16.5", "15.0 - 18.0", "1.50", "-", "-"],
        ["old path", "110.0", "110.0 - 110.0", "10.00", "330.0", "99.0"],
        ["new path", "5.0", "4.0 - 6.0", "0.45", "15.0", "4.5"],
    ]


def test_the_goal_is_met_when_the_new_path_takes_at_most_half_of_helm_unittests_time():
    record = _record([4.0, 5.0, 6.0], [10.0, 12.0, 11.0])
    assert render_bench.verdict(record) == render_bench.Verdict(True, 5.0 / 11.0, 2)
    page = render_bench.render_doc(record)
    assert (
        "**Met**: the new path's median is 5.0 ms per set, 0.455x helm-unittest's 11.0 ms" in page
    )
    assert "within the goal in 2 of 3 rounds" in page


def test_a_record_where_the_new_path_is_slower_than_helm_unittest_says_not_met():
    record = _record([14.0, 15.0, 13.0], [10.0, 12.0, 11.0])
    assert not render_bench.verdict(record).met
    assert "**Not met**" in render_bench.render_doc(record)


def test_the_page_says_so_when_the_new_path_rendered_as_the_old_one_did():
    record = _record([4.0], [10.0])
    assert "The persistent renderer was not in use" not in render_bench.render_doc(record)
    old = render_bench.approach(record, render_bench.OLD_PATH)
    same = replace(
        record,
        approaches=[
            replace(a, renderer=old.renderer) if a.name == render_bench.NEW_PATH else a
            for a in record.approaches
        ],
    )
    assert (
        "The persistent renderer was not in use in this run: the new path rendered with "
        '"old path\'s renderer", as the old path did.' in render_bench.render_doc(same)
    )


def test_half_of_helm_unittests_time_exactly_meets_the_goal():
    assert render_bench.verdict(_record([5.0], [10.0])).met


def test_the_page_states_the_recorded_machine_versions_and_settings():
    page = render_bench.render_doc(_record([4.0], [10.0]))
    assert (
        "- Machine: 8 cores (Test CPU), 32.0 GiB RAM,\n  Linux 6.1.0-test; load average 0.0 when "
        "the run started,\n  1.3 when it ended" in page
    )
    assert (
        "- Versions: the chart 0.9.1 at commit abc1234, modified; Python 3.11.2; helm v4.3.1; "
        "helm-unittest\n  v1.1.2 (Helm v3.21.3 library, in-process)." in page
    )
    assert "with seed 7 (fingerprint\n`0123456789abcdef`)" in page
    assert "- **new path**: what new path includes. Renders with: new path's renderer." in page
    assert _table_rows(page, "## The value sets") == [["Deployment", "25"], ["StatefulSet", "25"]]
    assert "The whole run took 61 s." in page


def test_a_record_reads_back_as_the_run_it_was_written_from():
    record = _record([4.0, 5.0], [10.0, 12.0])
    assert render_bench.record_from_json(records.to_json(record)) == record


def test_the_render_flag_renders_the_page_next_to_a_record_without_measuring(tmp_path: Path):
    recorded = tmp_path / "harness-benchmark.json"
    recorded.write_text(records.to_json(_record([4.0], [10.0])))
    assert render_bench.main(["--render", str(recorded)]) == 0
    expected = render_bench.render_doc(render_bench.record_from_json(recorded.read_text()))
    assert (tmp_path / "harness-benchmark.md").read_text() == expected


def test_docs_harness_benchmark_md_is_what_its_json_renders():
    record = render_bench.record_from_json((DOCS / "harness-benchmark.json").read_text())
    assert render_bench.render_doc(record) == (DOCS / "harness-benchmark.md").read_text(), (
        "docs/harness-benchmark.md is not what docs/harness-benchmark.json renders: after a "
        "measurement, run the benchmark again; after a change to its template only, run "
        "`python -m harness.bench.render --render docs/harness-benchmark.json`"
    )


def test_the_recorded_run_measured_the_value_sets_the_benchmark_generates():
    record = render_bench.record_from_json((DOCS / "harness-benchmark.json").read_text())
    sets = render_bench.value_sets(record.cases, record.seed)
    assert record.value_sets == render_bench.fingerprint(sets)
    assert record.coverage == render_bench.coverage(sets)


# --- the installer ---

BUILD_INFO = """\
.tools/bin/helm-unittest: go1.26.8
\tpath\tgithub.com/helm-unittest/helm-unittest/cmd/helm-unittest
\tmod\tgithub.com/helm-unittest/helm-unittest\t(devel)\t
\tdep\thelm.sh/helm/v3\tv3.21.3\th1:abc=
\tbuild\t-buildmode=exe
\tbuild\t-ldflags="-s -w -X github.com/helm-unittest/helm-unittest/internal/build.version=1.1.2"
\tbuild\tCGO_ENABLED=0
"""


def test_helm_unittests_version_is_read_from_the_build_settings_go_records():
    assert helm_unittest.version_from_build_info(BUILD_INFO) == "v1.1.2"


def test_a_build_without_the_version_stamped_in_reports_none():
    unstamped = BUILD_INFO.replace(" -X github.com/helm-unittest/helm-unittest/internal/", " ")
    assert helm_unittest.version_from_build_info(unstamped) is None


def test_another_go_binary_is_not_taken_for_helm_unittest():
    other = BUILD_INFO.replace("helm-unittest/cmd/helm-unittest", "helm-unittest/cmd/other")
    assert helm_unittest.version_from_build_info(other) is None


def test_the_installer_pins_a_release_with_its_module_hash_and_stamps_that_release():
    assert helm_unittest.VERSION == "v1.1.2"
    assert helm_unittest.MODULE_SUM.startswith("h1:")
    assert "internal/build.version=1.1.2" in helm_unittest.LDFLAGS
    assert helm_unittest.HOME == ROOT / ".tools" / "go" / "helm-unittest-v1.1.2"
