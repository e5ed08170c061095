"""The generated docs are what their recorded runs render, and the renderers show what a run saw.

docs/ipool.md and docs/benchmark.md are rendered from docs/ipool.json and docs/benchmark.json,
which the measuring runs (`make ipool-docs`, `make bench`) record. Rendering needs neither a
cluster nor Docker, so these tests check the committed pages against their records, and the
renderers against small runs built here.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from harness.chart.plan import Plan
from harness.container import bench
from harness.container.load import WrkResult
from harness.container.pod import MemorySample, PodSettings
from harness.core import records
from harness.core.tools import ROOT
from harness.ipool import scenarios
from harness.ipool.recorder import Measurement
from harness.traffic import rollouts

DOCS = ROOT / "docs"
MIB = 1024 * 1024


def test_docs_ipool_md_is_what_docs_ipool_json_renders():
    record = scenarios.record_from_json((DOCS / "ipool.json").read_text())
    assert scenarios.render_doc(record) == (DOCS / "ipool.md").read_text(), (
        "docs/ipool.md is not what docs/ipool.json renders: after a rehearsal, run "
        "`make ipool-docs`; after a change to harness/ipool/ipool.md.j2 or its renderer only, "
        "run `python -m harness.ipool.scenarios --render docs/ipool.json`; never edit by hand"
    )


def test_docs_benchmark_md_is_what_docs_benchmark_json_renders():
    record = bench.record_from_json((DOCS / "benchmark.json").read_text())
    assert bench.report(record) == (DOCS / "benchmark.md").read_text(), (
        "docs/benchmark.md is not what docs/benchmark.json renders: after a measurement, run "
        "`make bench`; after a change to the report's text in harness/container/bench.py only, "
        "run `python -m harness.container.bench --render docs/benchmark.json`; never edit by hand"
    )


def test_docs_rollout_under_load_md_is_what_its_json_renders():
    record = rollouts.record_from_json((DOCS / "rollout-under-load.json").read_text())
    assert rollouts.render_doc(record) == (DOCS / "rollout-under-load.md").read_text(), (
        "docs/rollout-under-load.md is not what docs/rollout-under-load.json renders: after a "
        "measurement, run `make rollout-docs`; after a change to its template only, run "
        "`python -m harness.traffic.rollouts --render docs/rollout-under-load.json`"
    )


def test_the_recorded_rollouts_lose_no_request_with_the_charts_prestop_sleep():
    """The page's claim, checked on its record: every row with the chart's sleep lost none."""
    record = rollouts.record_from_json((DOCS / "rollout-under-load.json").read_text())
    with_sleep = [
        o for o in record.outcomes if o.pre_stop_sleep_seconds == rollouts.chart_pre_stop_sleep()
    ]
    assert {o.kind for o in with_sleep} == {"Deployment", "StatefulSet"}
    assert all(o.traffic.failed == 0 and o.traffic.sent > 500 for o in with_sleep)


# --- ipool: small rehearsals built here ---


def _measurement(*, completed: bool = True, peak_pods: int = 3, min_ready: int = 2) -> Measurement:
    return Measurement(
        wall_time=12.34,
        peak_pods=peak_pods,
        peak_ips=3,
        min_ready=min_ready,
        zero_ready_seconds=0.0,
        ready_without_ip_seconds=1.26,
        failed_scheduling_events=7,
        completed=completed,
        samples=120,
    )


def _plan(peak_pods: int, min_ready: int) -> Plan:
    return Plan(
        kind="Deployment",
        strategy="RollingUpdate maxSurge 1, maxUnavailable 0",
        replicas=3,
        peak_pods=peak_pods,
        min_ready=min_ready,
        pool="pool-a",
        pool_size=4,
    )


def _ipool_record(*outcomes: scenarios.Outcome) -> scenarios.Record:
    return scenarios.Record(
        date="2031-02-03",
        cores=16,
        architecture="aarch64",
        replicas=5,
        old_tag="2.0.0",
        new_tag="2.1.0",
        termination_delay_s=7.5,
        stall_window_s=30.0,
        outcomes=list(outcomes),
    )


def _table_rows(page: str, heading: str) -> list[list[str]]:
    """The cells of the first table after `heading` (the whole page when heading is "")."""
    after = page.split(heading, 1)[1] if heading else page
    lines = after.split("\n| --- |", 1)[1].splitlines()[1:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_a_stalled_rollout_is_shown_as_stalled_and_a_finished_one_as_completed():
    page = scenarios.render_doc(
        _ipool_record(
            scenarios.Outcome("stuck", "Stuck way", _measurement(completed=False)),
            scenarios.Outcome("fine", "Fine way", _measurement()),
        )
    )
    rows = _table_rows(page, "")
    assert [(row[1], row[2]) for row in rows] == [
        ("Stuck way", "**no: stalled**"),
        ("Fine way", "yes"),
    ]


def test_the_measured_table_shows_each_figure_of_the_recorded_measurement():
    page = scenarios.render_doc(_ipool_record(scenarios.Outcome("a", "Way A", _measurement())))
    [row] = _table_rows(page, "")
    assert row == ["1", "Way A", "yes", "12.3", "3", "3", "2", "**no**", "0.0", "1.3", "7"]


def test_a_way_that_left_fewer_than_all_but_one_pod_ready_is_marked():
    """The small record has 5 replicas: 4 Ready is all but one, 3 is not."""
    page = scenarios.render_doc(
        _ipool_record(
            scenarios.Outcome("a", "Way A", _measurement(min_ready=4)),
            scenarios.Outcome("b", "Way B", _measurement(min_ready=3)),
        )
    )
    assert [row[6:8] for row in _table_rows(page, "")] == [["4", "yes"], ["3", "**no**"]]


def test_the_plan_table_lists_only_the_outcomes_with_a_plan_next_to_what_was_measured():
    page = scenarios.render_doc(
        _ipool_record(
            scenarios.Outcome("script", "Scripted way", _measurement()),
            scenarios.Outcome(
                "chart", "Chart way", _measurement(peak_pods=4, min_ready=3), plan=_plan(4, 2)
            ),
        )
    )
    assert _table_rows(page, "## What the rollout plan predicted") == [
        ["Chart way", "4", "4", "2", "4 / 3 / 3"],
    ]


def test_the_page_states_the_recorded_settings_and_machine_not_the_current_ones():
    page = scenarios.render_doc(_ipool_record())
    assert "from 2.0.0 to 2.1.0 with 5 replicas" in page
    assert "holding its IP for\n7.5 s" in page
    assert "Measured 2031-02-03 on 16 cores, aarch64." in page
    assert "a pool of\n5) stalls" in page


def test_an_ipool_record_reads_back_as_the_outcomes_it_was_written_from():
    record = _ipool_record(
        scenarios.Outcome(
            "chart",
            "Chart way",
            Measurement(peak_pods=4, min_ready=None, duplicate_ips=["203.0.113.10"]),
            plan=_plan(4, 3),
            note="a note",
            events=("no free IP in pool pool-a",),
        ),
        scenarios.Outcome("plain", "Plain way", _measurement()),
    )
    assert scenarios.record_from_json(records.to_json(record)) == record


def test_an_ipool_record_with_a_field_the_measurement_does_not_have_is_refused():
    text = records.to_json(_ipool_record(scenarios.Outcome("a", "Way A", _measurement()))).replace(
        '"peak_ips"', '"peak_ip"'
    )
    with pytest.raises(TypeError, match="peak_ip"):
        scenarios.record_from_json(text)


def test_write_doc_records_the_run_next_to_the_page_and_renders_the_page_from_it(tmp_path):
    outcomes = [scenarios.Outcome("a", "Way A", _measurement(), plan=_plan(3, 2))]
    page = tmp_path / "ipool.md"
    scenarios.write_doc(outcomes, page, termination_delay=4.0)
    record = scenarios.record_from_json((tmp_path / "ipool.json").read_text())
    assert (record.outcomes, record.termination_delay_s) == (outcomes, 4.0)
    assert page.read_text() == scenarios.render_doc(record)


def test_the_render_flag_renders_the_page_next_to_a_record_without_a_cluster(tmp_path):
    recorded = tmp_path / "ipool.json"
    shutil.copy(DOCS / "ipool.json", recorded)
    assert scenarios.main(["--render", str(recorded)]) == 0
    expected = scenarios.render_doc(scenarios.record_from_json(recorded.read_text()))
    assert (tmp_path / "ipool.md").read_text() == expected


# --- benchmark: small runs built here ---


def _server(
    name: str,
    rates: dict[str, float],
    *,
    oom_killed: bool = False,
    failure: str = "",
    idle_rss_mib: float = 50.0,
) -> bench.ServerResult:
    return bench.ServerResult(
        name=name,
        description=f"{name} as described",
        paths={path: bench.PathResult(rate, 10.0, 90.0, 0) for path, rate in rates.items()},
        idle=bench.IdleMemory(
            processes=2, rss_mib=idle_rss_mib, pss_mib=30.04, working_set_mib=29.96
        ),
        peak_rss_mib=idle_rss_mib + 1,
        peak_working_set_mib=35.0,
        oom_kills=0,
        oom_killed=oom_killed,
        failure=failure,
    )


def _bench_record(*servers: bench.ServerResult, rounds: int = 3) -> bench.Record:
    return bench.Record(
        date="2031-02-03 10:00 UTC",
        machine=bench.Machine(cores=8, memory_gib=31.96, kernel="6.1.0-test", load_average=0.04),
        engine="Docker 27.0.0",
        load_generator="wrk 4.2.0",
        seconds=20,
        connections=32,
        rounds=rounds,
        warmup_s=2,
        pod_flags="--cpus 0.5 --memory 256Mi",
        paths=["/", "/_health"],
        servers=list(servers),
    )


def test_the_throughput_goal_divides_each_path_by_the_ceiling_of_the_same_run():
    record = _bench_record(
        _server(bench.SHIPPED, {"/": 450.0, "/_health": 300.0}),
        _server(bench.CEILING, {"/": 500.0, "/_health": 600.0}),
    )
    assert bench.goals(record)[0] == (
        "- Throughput at least 0.9x the bare WSGI ceiling: shipped reaches "
        "0.90x on `/`, 0.50x on `/_health`."
    )


def test_the_memory_goal_shows_the_shipped_servers_idle_memory_and_whether_it_is_met():
    record = _bench_record(
        _server(bench.SHIPPED, {"/": 1.0}, idle_rss_mib=40.0),
        _server(bench.CEILING, {"/": 1.0}, idle_rss_mib=30.0),
    )
    assert bench.goals(record)[1] == (
        "- Idle RSS at most 40 MiB: met, shipped 40.0 MiB (PSS 30.0, working set 30.0)."
    )


def test_the_memory_goal_shows_the_idle_memory_before_the_master_stopped_importing_flask():
    record = _bench_record(
        _server(bench.SHIPPED, {"/": 1.0}, idle_rss_mib=54.04),
        _server(bench.MASTER_IMPORTS_FLASK, {"/": 1.0}, idle_rss_mib=61.26),
        _server(bench.CEILING, {"/": 1.0}, idle_rss_mib=40.0),
    )
    assert bench.goals(record)[1] == (
        "- Idle RSS at most 40 MiB: not met, shipped 54.0 MiB (PSS 30.0, working set 30.0); "
        "with the master importing Flask as before, 61.3 MiB (PSS 30.0, working set 30.0)."
    )


def test_the_memory_table_shows_each_processs_idle_rss_master_first():
    shipped = _server(bench.SHIPPED, {"/": 1.0})
    shipped = replace(shipped, idle=replace(shipped.idle, rss_per_process_mib=[21.04, 28.96]))
    page = bench.report(_bench_record(shipped, _server(bench.CEILING, {"/": 1.0})))
    assert [row[2:4] for row in _table_rows(page, "## Memory")] == [
        ["50.0", "21.0 + 29.0"],
        ["50.0", "n/a"],
    ]


def test_an_oom_killed_server_is_named_in_the_goals_and_noted_in_the_memory_table():
    record = _bench_record(
        _server(bench.SHIPPED, {"/": 1.0}),
        _server(bench.CEILING, {"/": 1.0}),
        _server("host-sized", {"/": 1.0}, oom_killed=True),
    )
    assert bench.goals(record)[2] == "- Never OOM-killed: OOM kills in host-sized."
    assert [row[-1] for row in _table_rows(bench.report(record), "## Memory")] == [
        "",
        "",
        "OOMKilled",
    ]


def test_a_server_that_failed_has_n_a_rows_and_its_failure_in_the_notes():
    record = _bench_record(
        _server(bench.SHIPPED, {"/": 450.0, "/_health": 300.0}),
        _server(bench.CEILING, {"/": 500.0, "/_health": 600.0}),
        _server("gunicorn defaults", {}, failure="did not start: port in use"),
    )
    page = bench.report(record)
    throughput = _table_rows(page, "## Throughput and latency")
    assert [row[:4] for row in throughput] == [
        ["shipped", "`/`", "450", "0.90"],
        ["shipped", "`/_health`", "300", "0.50"],
        ["bare WSGI", "`/`", "500", "1.00"],
        ["bare WSGI", "`/_health`", "600", "1.00"],
        ["gunicorn defaults", "`/`", "n/a", "n/a"],
        ["gunicorn defaults", "`/_health`", "n/a", "n/a"],
    ]
    assert _table_rows(page, "## Memory")[-1][-1] == "did not start: port in use"


def test_the_report_states_the_recorded_machine_and_settings_not_the_current_ones():
    page = bench.report(_bench_record(_server(bench.SHIPPED, {}), _server(bench.CEILING, {})))
    assert "on 2031-02-03 10:00 UTC" in page
    assert "- Machine: 8 cores, 32.0 GiB RAM, Linux 6.1.0-test; load average 0.0 " in page
    assert (
        "- Engine: Docker 27.0.0; load: wrk 4.2.0, 1 thread, 32 connections, 20 s per row "
        "after a 2 s warm-up, the median of 3 rounds," in page
    )
    assert "default pod settings: `--cpus 0.5 --memory 256Mi`." in page


def test_a_single_round_is_not_called_a_median():
    page = bench.report(
        _bench_record(_server(bench.SHIPPED, {}), _server(bench.CEILING, {}), rounds=1)
    )
    assert "20 s per row after a 2 s warm-up, over loopback" in page


def test_a_measured_server_records_its_median_round_and_memory_in_mib():
    outcome = bench.Outcome(
        bench.Server(bench.SHIPPED, "the shipped image"),
        idle=MemorySample(
            rss=60 * MIB,
            pss=30 * MIB + MIB // 2,
            cgroup=29 * MIB,
            processes=2,
            process_rss=(22 * MIB, 38 * MIB),
        ),
        runs={
            "/": [
                WrkResult(4000, 10.0, rate, 10.0 + rate / 100, 99.0, 0, 1)
                for rate in (400.0, 380.0, 420.0)
            ]
        },
        peak_rss=61 * MIB,
        peak_cgroup=40 * MIB,
    )
    result = outcome.result()
    assert result.paths == {"/": bench.PathResult(400.0, 14.0, 99.0, 1)}
    assert result.idle == bench.IdleMemory(2, 60.0, 30.5, 29.0, [22.0, 38.0])
    assert (result.peak_rss_mib, result.peak_working_set_mib) == (61.0, 40.0)


def test_the_pod_flags_are_read_from_the_pod_settings():
    settings = PodSettings(
        cpus=0.25,
        memory_bytes=192 * MIB,
        memory_request_bytes=64 * MIB,
        user="10001:10001",
        read_only=True,
        drop_capabilities=("ALL",),
        no_new_privileges=True,
        tmpfs=("/tmp:size=16777216",),
        env={},
        container_port=8000,
        termination_grace_s=30,
    )
    assert bench.pod_flags(settings) == (
        "--cpus 0.25 --memory 192Mi --read-only --tmpfs /tmp --user 10001:10001 "
        "--cap-drop ALL --security-opt no-new-privileges"
    )


def test_a_benchmark_record_reads_back_as_the_run_it_was_written_from():
    shipped = _server(bench.SHIPPED, {"/": 450.5})
    record = _bench_record(
        replace(shipped, idle=replace(shipped.idle, rss_per_process_mib=[20.5, 30.25])),
        _server(bench.CEILING, {"/": 500.0, "/_health": 600.0}),
        bench.ServerResult("broken", "never started", {}, None, 0.0, 0.0, 0, False, "no image"),
    )
    assert bench.record_from_json(records.to_json(record)) == record


def test_the_render_flag_renders_the_report_next_to_a_record_without_docker(tmp_path: Path):
    recorded = tmp_path / "benchmark.json"
    shutil.copy(DOCS / "benchmark.json", recorded)
    assert bench.main(["--render", str(recorded)]) == 0
    expected = bench.report(bench.record_from_json(recorded.read_text()))
    assert (tmp_path / "benchmark.md").read_text() == expected
