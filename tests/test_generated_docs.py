"""The generated docs are what their recorded runs render, and the renderers show what a run saw.

docs/ipool.md and docs/benchmark.md are rendered from docs/ipool.json and docs/benchmark.json,
which the measuring runs (`make ipool-docs`, `make bench`) record. Rendering needs neither a
cluster nor Docker, so these tests check the committed pages against their records, and the
renderers against small runs built here.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from harness.bench import image as image_bench
from harness.bench import render as render_bench
from harness.chart.plan import Plan
from harness.container.app_container import MemorySample, PodSettings
from harness.core import records
from harness.core.proc import run
from harness.core.tools import ROOT
from harness.disruption import report as disruptions
from harness.ipool import scenarios
from harness.ipool.recorder import Measurement
from harness.traffic import under_load

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
    text = (DOCS / "benchmark.json").read_text()
    assert json.loads(text).get("format") == image_bench.RECORD_FORMAT, (
        f"docs/benchmark.json is not in record format {image_bench.RECORD_FORMAT}, which this "
        "renderer reads: `make bench` measures and writes both files again"
    )
    record = image_bench.record_from_json(text)
    assert image_bench.report(record) == (DOCS / "benchmark.md").read_text(), (
        "docs/benchmark.md is not what docs/benchmark.json renders: after a measurement, run "
        "`make bench`; after a change to the report's text in harness/bench/image.py only, "
        "run `python -m harness.bench.image --render docs/benchmark.json`; never edit by hand"
    )


def test_docs_node_disruptions_md_is_what_its_json_renders():
    record = disruptions.record_from_json((DOCS / "node-disruptions.json").read_text())
    assert disruptions.render_doc(record) == (DOCS / "node-disruptions.md").read_text(), (
        "docs/node-disruptions.md is not what docs/node-disruptions.json renders: after a "
        "measurement, run `make disruption-docs`; after a change to its template only, run "
        "`python -m harness.disruption --render docs/node-disruptions.json`; never edit by hand"
    )


def test_docs_rollout_under_load_md_is_what_its_json_renders():
    record = under_load.record_from_json((DOCS / "rollout-under-load.json").read_text())
    assert under_load.render_doc(record) == (DOCS / "rollout-under-load.md").read_text(), (
        "docs/rollout-under-load.md is not what docs/rollout-under-load.json renders: after a "
        "measurement, run `make rollout-docs`; after a change to its template only, run "
        "`python -m harness.traffic.under_load --render docs/rollout-under-load.json`"
    )


CHART_MEASURED = re.compile(r"\d+\.\d+\.\d+ at commit [0-9a-f]{7,40}")


@pytest.mark.parametrize(
    ("record", "load"),
    [
        ("ipool.json", scenarios.record_from_json),
        ("rollout-under-load.json", under_load.record_from_json),
        ("harness-benchmark.json", render_bench.record_from_json),
    ],
)
def test_a_cluster_or_render_record_names_the_chart_version_and_commit_it_measured(record, load):
    """Not `, modified`: a record of a chart that no commit holds cannot be measured again."""
    chart = load((DOCS / record).read_text()).chart
    assert CHART_MEASURED.fullmatch(chart), f"docs/{record} measured chart {chart!r}"
    version = chart.split()[0]
    page = (DOCS / record).with_suffix(".md").read_text()
    assert f"{version} at commit" in page, f"docs/{record}'s page does not name chart {chart}"


def test_the_recorded_rollouts_lose_no_request_with_the_charts_prestop_sleep():
    """The page's claim, checked on its record: every row with the chart's sleep lost none."""
    record = under_load.record_from_json((DOCS / "rollout-under-load.json").read_text())
    with_sleep = [
        o for o in record.outcomes if o.pre_stop_sleep_seconds == under_load.chart_pre_stop_sleep()
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
        chart="3.1.4 at commit 0123abc",
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
    assert "Measured 2031-02-03 on 16 cores, aarch64, with chart 3.1.4 at commit 0123abc." in page
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
    scenarios.write_doc(outcomes, page, termination_delay=4.0, chart="3.1.4 at commit 0123abc")
    record = scenarios.record_from_json((tmp_path / "ipool.json").read_text())
    assert (record.outcomes, record.termination_delay_s) == (outcomes, 4.0)
    assert record.chart == "3.1.4 at commit 0123abc"
    assert page.read_text() == scenarios.render_doc(record)


def test_the_render_flag_renders_the_page_next_to_a_record_without_a_cluster(tmp_path):
    recorded = tmp_path / "ipool.json"
    shutil.copy(DOCS / "ipool.json", recorded)
    assert scenarios.main(["--render", str(recorded)]) == 0
    expected = scenarios.render_doc(scenarios.record_from_json(recorded.read_text()))
    assert (tmp_path / "ipool.md").read_text() == expected


# --- benchmark: small runs built here ---

CHART_ENV = {
    "WEB_CONCURRENCY": "1",
    "GUNICORN_THREADS": "4",
    "GUNICORN_GRACEFUL_TIMEOUT": "20",
    "GUNICORN_ACCESS_LOG": "true",
}


def _config(name: str, changes: dict[str, str] | None = None) -> image_bench.Configuration:
    return image_bench.configuration(
        image_bench.Candidate(name, f"{name} as described", changes or {}), CHART_ENV
    )


SHIPPED = _config(image_bench.SHIPPED)
NO_LOG = _config("shipped, no access log", {"GUNICORN_ACCESS_LOG": "false"})
SYNC_LOGGED = _config(
    "sync, access log", {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_THREADS": "1"}
)
SYNC = _config(
    "sync",
    {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_THREADS": "1", "GUNICORN_ACCESS_LOG": "false"},
)


def _rounds(*rates: float, errors: int = 0) -> list[image_bench.Round]:
    return [
        image_bench.Round(
            round=number,
            order=number,
            requests_per_s=rate,
            p50_ms=10.0 * number,
            p99_ms=90.0 + number,
            errors=errors,
            seconds=8.0,
            wrk_cpu_s=2.0 * number,
            server_cpu_s=1.6,
            engine_cpu_s=0.08,
        )
        for number, rate in enumerate(rates, start=1)
    ]


def _server(
    configuration: image_bench.Configuration,
    app: str,
    rates: dict[str, tuple[float, ...]],
    *,
    oom_killed: bool = False,
    failure: str = "",
    idle_rss_mib: float = 50.0,
    working_set_mib: float = 29.96,
) -> image_bench.ServerResult:
    return image_bench.ServerResult(
        configuration=configuration.name,
        app=app,
        rounds={path: _rounds(*r) for path, r in rates.items()},
        idle=image_bench.IdleMemory(
            processes=2, rss_mib=idle_rss_mib, pss_mib=30.04, working_set_mib=working_set_mib
        ),
        peak_rss_mib=idle_rss_mib + 1,
        peak_working_set_mib=35.0,
        oom_kills=0,
        oom_killed=oom_killed,
        failure=failure,
    )


def _bench_record(
    configurations: list[image_bench.Configuration],
    *servers: image_bench.ServerResult,
    rounds: int = 3,
    profiles: list[image_bench.Profile] | None = None,
    pairs: list[image_bench.Pair] | None = None,
) -> image_bench.Record:
    return image_bench.Record(
        format=image_bench.RECORD_FORMAT,
        date="2031-02-03 10:00 UTC",
        machine=image_bench.Machine(
            cores=8, memory_gib=31.96, kernel="6.1.0-test", load_average=0.04
        ),
        engine="Docker 27.0.0",
        load_generator="wrk 4.2.0",
        seconds=8,
        connections=32,
        rounds=rounds,
        warmup_s=2,
        pod_flags="--cpus 0.2 --memory 128Mi",
        cpus=0.2,
        memory_request_mib=64.0,
        chart_env=CHART_ENV,
        paths=["/", "/_health"],
        configurations=configurations,
        servers=list(servers),
        profiles=profiles or [],
        pairs=pairs or [],
        load_average_after=1.26,
    )


def _matrix_record() -> image_bench.Record:
    """Shipped at half the best Flask configuration (sync, no log) on `/`: the issue's case."""
    return _bench_record(
        [SHIPPED, NO_LOG, SYNC_LOGGED, SYNC],
        _server(SHIPPED, image_bench.FLASK, {"/": (300, 320, 340), "/_health": (380, 390, 400)}),
        _server(SHIPPED, image_bench.BARE, {"/": (400, 410, 420), "/_health": (430, 440, 450)}),
        _server(NO_LOG, image_bench.FLASK, {"/": (560, 580, 600), "/_health": (400, 420, 440)}),
        _server(NO_LOG, image_bench.BARE, {"/": (590, 600, 610), "/_health": (600, 640, 700)}),
        _server(
            SYNC_LOGGED, image_bench.FLASK, {"/": (340, 350, 360), "/_health": (300, 310, 320)}
        ),
        _server(SYNC_LOGGED, image_bench.BARE, {"/": (500, 510, 520), "/_health": (500, 520, 540)}),
        _server(SYNC, image_bench.FLASK, {"/": (600, 640, 700), "/_health": (420, 440, 430)}),
        _server(SYNC, image_bench.BARE, {"/": (700, 800, 750), "/_health": (600, 650, 660)}),
    )


def test_the_configurations_are_the_chart_environment_as_the_image_reads_it():
    assert (SHIPPED.worker_class, SHIPPED.workers, SHIPPED.threads) == ("gthread", 1, 4)
    assert (SHIPPED.keepalive_s, SHIPPED.access_log, SHIPPED.changes) == (5, True, {})
    assert (SYNC.worker_class, SYNC.threads, SYNC.access_log, SYNC.keeps_alive) == (
        "sync",
        1,
        False,
        False,
    )
    assert SHIPPED.keeps_alive


def test_the_goal_compares_shipped_with_the_best_flask_configuration_of_the_same_run():
    [goal] = [g for g in image_bench.goals(_matrix_record()) if "best configuration" in g]
    assert goal == (
        "- Shipped at least 0.9x the best configuration of the Flask app: "
        "not met on `/`, 0.50x (rounds 0.49-0.50) of **sync**; "
        "met (not in every round) on `/_health`, 0.91x (rounds 0.89-0.93) of **sync**."
    )


def test_like_for_like_compares_shipped_with_the_best_flask_configuration_with_the_access_log():
    [goal] = [g for g in image_bench.goals(_matrix_record()) if "Like for like" in g]
    assert goal == (
        "- Like for like, against the best Flask configuration with the access log on, as "
        "shipped: met (not in every round) on `/`, 0.91x (rounds 0.88-0.94) of "
        "**sync, access log**; "
        "met on `/_health`, 1.00x (rounds 1.00-1.00) of **shipped**."
    )


def test_the_access_log_cost_is_its_own_line_with_the_same_round_spread():
    [goal] = [g for g in image_bench.goals(_matrix_record()) if "chart's default" in g]
    assert goal == (
        "- The access log (on in the chart's default): shipped answers "
        "0.55x (rounds 0.54-0.57) of the same settings without it on `/`; "
        "0.93x (rounds 0.91-0.95) of the same settings without it on `/_health`."
    )


def test_the_access_log_goal_is_the_median_of_back_to_back_pairs_on_each_path():
    pairs = [
        *(image_bench.Pair("/", logged, 500.0) for logged in (450, 480, 490, 500, 520)),
        *(image_bench.Pair("/_health", logged, 500.0) for logged in (400, 440, 460, 520)),
    ]
    record = replace(_matrix_record(), pairs=pairs)
    [goal] = [g for g in image_bench.goals(record) if "costs at most" in g]
    assert goal == (
        "- The access log costs at most 5%: shipped at least 0.95x of the same settings "
        "without it, as the median of back-to-back pairs of 3 s loads (the middle half of the "
        "pairs' ratios in brackets): met on `/`, 0.98x of 5 pairs (0.93-1.02); "
        "not met on `/_health`, 0.90x of 4 pairs (0.82-1.01)."
    )
    assert not [g for g in image_bench.goals(_matrix_record()) if "costs at most" in g]


def test_each_comparison_the_run_measured_is_a_line_of_its_own():
    logger = _config(
        "shipped, gunicorn's access logger",
        {"GUNICORN_CMD_ARGS": "--logger-class gunicorn.glogging.Logger"},
    )
    record = _bench_record(
        [SHIPPED, logger],
        _server(SHIPPED, image_bench.FLASK, {"/": (300, 320, 340), "/_health": (300, 320, 340)}),
        _server(logger, image_bench.FLASK, {"/": (240, 256, 272), "/_health": (300, 320, 340)}),
    )
    lines = image_bench.goals(record)
    assert (
        "- The image's access logger (app/accesslog.py): shipped answers "
        "1.25x (rounds 1.25-1.25) of the same settings with gunicorn's own logger on `/`; "
        "1.00x (rounds 1.00-1.00) of the same settings with gunicorn's own logger on `/_health`."
    ) in lines
    # Not measured in this run, so not reported.
    assert not [line for line in lines if "The access log (on" in line or "previous" in line]


def test_the_share_of_the_true_ceiling_splits_the_gap_into_flask_and_the_settings():
    [goal] = [g for g in image_bench.goals(_matrix_record()) if "true ceiling" in g]
    assert goal == (
        "- Shipped's share of the true ceiling (the fastest framework-free configuration), aim "
        "0.9x: 0.43x (rounds 0.40-0.45) of **sync** on `/` (Flask: the best Flask "
        "configuration, sync, reaches 0.85x of the ceiling; the settings: shipped reaches 0.50x "
        "of it); 0.60x (rounds 0.60-0.63) of **sync** on `/_health` (Flask: the best Flask "
        "configuration, sync, reaches 0.66x of the ceiling; the settings: shipped reaches 0.91x "
        "of it)."
    )


def test_shipped_as_the_best_configuration_meets_the_goal():
    record = _bench_record(
        [SHIPPED, SYNC],
        _server(SHIPPED, image_bench.FLASK, {"/": (500, 510, 520), "/_health": (500, 500, 500)}),
        _server(SHIPPED, image_bench.BARE, {"/": (550,) * 3, "/_health": (550,) * 3}),
        _server(SYNC, image_bench.FLASK, {"/": (480, 490, 530), "/_health": (400,) * 3}),
        _server(SYNC, image_bench.BARE, {"/": (560,) * 3, "/_health": (540,) * 3}),
    )
    goal = image_bench.goals(record)[0]
    assert "met on `/`, 1.00x (rounds 1.00-1.00) of **shipped**" in goal
    assert "not met" not in goal


def test_a_failed_server_is_never_the_best_and_shows_n_a_rows():
    record = _bench_record(
        [SHIPPED, SYNC],
        _server(SHIPPED, image_bench.FLASK, {"/": (300,) * 3, "/_health": (300,) * 3}),
        _server(SHIPPED, image_bench.BARE, {"/": (400,) * 3, "/_health": (400,) * 3}),
        _server(SYNC, image_bench.FLASK, {}, failure="did not start: port in use"),
        _server(
            SYNC, image_bench.BARE, {"/": (900,), "/_health": (900,)}, failure="load failed: x"
        ),
    )
    goals = image_bench.goals(record)
    assert "1.00x (rounds 1.00-1.00) of **shipped**" in goals[0]
    [ceiling] = [g for g in goals if "true ceiling" in g]
    assert "of **shipped** on `/`" in ceiling
    page = image_bench.report(record)
    rows = _table_rows(page, "### `/`")
    assert rows[2][:4] == ["sync", "Flask", "n/a", "n/a"]
    assert _table_rows(page, "## Memory")[2][-1] == "did not start: port in use"


def test_the_throughput_table_shows_median_spread_ratios_and_cpu():
    page = image_bench.report(_matrix_record())
    rows = _table_rows(page, "### `/`")
    assert [row[0:2] for row in rows][:2] == [["shipped", "Flask"], ["shipped", "bare WSGI"]]
    # median 320 (300-340), 0.50x the best Flask's 640, 0.43x the ceiling's 750; p50 and p99
    # are the median rounds'; errors add up; wrk 4 s of CPU over 8 s; 1.6 s of 0.2 x 8 s; the
    # median round's 1.6 s and 0.08 s of CPU over 2560 requests.
    assert rows[0] == [
        "shipped", "Flask", "320", "300-340", "0.50", "0.43", "20.0", "92.0", "0", "50%", "100%",
        "625", "31",
    ]  # fmt: skip
    # bare WSGI rows are not compared with the best Flask configuration.
    assert rows[1][4:6] == ["", "0.55"]
    health = _table_rows(page, "### `/_health`")
    assert health[6][:6] == ["sync", "Flask", "430", "420-440", "1.00", "0.66"]


def test_the_configurations_table_says_what_each_changes_and_what_gunicorn_runs():
    rows = _table_rows(image_bench.report(_matrix_record()), "## Configurations")
    assert rows[0][:7] == ["shipped", "gthread", "1", "4", "5 s", "on", "nothing"]
    assert rows[3][:7] == [
        "sync",
        "sync",
        "1",
        "1",
        "none (sync)",
        "off",
        "`GUNICORN_WORKER_CLASS=sync` `GUNICORN_THREADS=1` `GUNICORN_ACCESS_LOG=false`",
    ]


def test_the_memory_goals_compare_the_working_set_with_the_request_and_name_oom_kills():
    two_workers = _config(
        "sync, 2 workers",
        {"GUNICORN_WORKER_CLASS": "sync", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "1"},
    )
    record = _bench_record(
        [SHIPPED, two_workers],
        _server(SHIPPED, image_bench.FLASK, {"/": (1,)}, idle_rss_mib=54.04, working_set_mib=31.6),
        _server(SHIPPED, image_bench.BARE, {"/": (1,)}),
        _server(two_workers, image_bench.FLASK, {"/": (1,)}, working_set_mib=64.2, oom_killed=True),
        _server(two_workers, image_bench.BARE, {"/": (1,)}),
    )
    goals = image_bench.goals(record)
    assert goals[-3:] == [
        "- Idle working set under the 64 MiB memory request: met, shipped 31.6 MiB working set "
        "(RSS 54.0, PSS 30.0); over it: sync, 2 workers (Flask).",
        "- Idle working set at most 40 MiB (what the kubelet counts; RSS counts the pages "
        "gunicorn's master shares with its worker twice): met, shipped 31.6 MiB working set "
        "(RSS 54.0, PSS 30.0).",
        "- Never OOM-killed: OOM kills in sync, 2 workers (Flask).",
    ]
    assert [row[-1] for row in _table_rows(image_bench.report(record), "## Memory")] == [
        "",
        "",
        "OOMKilled",
        "",
    ]


# A few lines of what `py-spy record --format raw --idle` wrote for a gthread worker.
PY_SPY_LINES = """\
Thread._bootstrap (threading.py:995);_worker (concurrent/futures/thread.py:83);\
ThreadWorker.handle (gunicorn/workers/gthread.py:542);ThreadWorker.handle_request \
(gunicorn/workers/gthread.py:620);AccessLogger.access (app/accesslog.py:175);\
AccessLogger._write (app/accesslog.py:188);BatchedLines.add (app/accesslog.py:89) 11
Thread._bootstrap (threading.py:995);_worker (concurrent/futures/thread.py:83);\
ThreadWorker.handle (gunicorn/workers/gthread.py:542);ThreadWorker.handle_request \
(gunicorn/workers/gthread.py:601);Logger.debug (gunicorn/glogging.py:280) 4
Thread._bootstrap (threading.py:995);_worker (concurrent/futures/thread.py:83);\
ThreadWorker.handle (gunicorn/workers/gthread.py:542);Parser.__next__ \
(gunicorn/http/parser.py:114) 85
<module> (gunicorn:8);ThreadWorker.run (gunicorn/workers/gthread.py:410);\
EpollSelector.select (selectors.py:468) 900
Thread._bootstrap (threading.py:995);BatchedLines._flush_when_due (app/accesslog.py:135) 1000
Thread._bootstrap (threading.py:995);_worker (concurrent/futures/thread.py:83);\
ThreadWorker.handle (gunicorn/workers/gthread.py:542);ThreadWorker.handle_request \
(gunicorn/workers/gthread.py:620);Logger.access (gunicorn/glogging.py:391);\
Logger.info (logging/__init__.py:1489);Handler.handle (logging/__init__.py:978);\
StreamHandler.emit (logging/__init__.py:1113) 6
"""


def test_a_profile_counts_the_serving_threads_samples_and_those_in_the_access_log():
    # The poller's and the flusher's samples are not serving; the error log's debug is not
    # the access log.
    assert image_bench.profile_counts(PY_SPY_LINES) == (11 + 4 + 85 + 6, 11 + 6, 6)


def test_the_report_shows_each_loggers_cpu_per_request_and_the_profiles():
    logger = _config(
        "shipped, gunicorn's access logger",
        {"GUNICORN_CMD_ARGS": "--logger-class gunicorn.glogging.Logger"},
    )
    shipped = _server(SHIPPED, image_bench.FLASK, {"/": (400, 400, 400)})
    unlogged = _server(NO_LOG, image_bench.FLASK, {"/": (500, 500, 500)})
    theirs = _server(logger, image_bench.FLASK, {"/": (250, 250, 250)})
    # Every server uses 1.6 s of CPU in 8 s: 500, 400 and 800 µs a request.
    profiles = [
        image_bench.Profile("shipped", "/", 4000, serving=6000, access_log=120, writing=40),
        image_bench.Profile(logger.name, "/", 0, 0, 0, 0, failure="py-spy failed: ['denied']"),
    ]
    record = _bench_record([SHIPPED, NO_LOG, logger], shipped, unlogged, theirs, profiles=profiles)
    page = image_bench.report(record)
    assert (
        "on `/`, the image's logger +100 µs in the container and +5 µs in the engine; "
        "gunicorn's logger +400 µs in the container and +20 µs in the engine; "
        "n/a on `/_health`." in page
    )
    assert _table_rows(page, "## Where the access log's time goes") == [
        ["shipped", "`/`", "4000", "1500", "30", "10", "2.0%", ""],
        [logger.name, "`/`", "0", "0", "0", "0", "0.0%", "py-spy failed: ['denied']"],
    ]
    assert [row[-2:] for row in _table_rows(page, "### `/`")] == [
        ["500", "25"],
        ["400", "20"],
        ["800", "40"],
    ]
    assert image_bench.record_from_json(records.to_json(record)) == record


def test_the_report_states_the_recorded_machine_settings_and_environment():
    page = image_bench.report(_matrix_record())
    assert "on 2031-02-03 10:00 UTC" in page
    assert (
        "- Machine: 8 cores, 32.0 GiB RAM, Linux 6.1.0-test; load average 0.0 when the run "
        "started and 1.3 when it ended" in page
    )
    assert (
        "- Engine: Docker 27.0.0; load: wrk 4.2.0, 1 thread, 32 connections, 8 s per load "
        "after a 2 s warm-up of its own; 3 rounds, interleaved" in page
    )
    assert "`--cpus 0.2 --memory 128Mi`, and the chart's environment `WEB_CONCURRENCY=1`" in page
    assert "## Keep-alive, slow clients and the rollout guarantees" in page


def test_a_single_round_is_not_called_a_median():
    record = replace(_matrix_record(), rounds=1)
    assert "warm-up of its own; 1 round; over loopback" in image_bench.report(record)


def test_a_ratio_pairs_rounds_by_number_not_by_position():
    shipped = _server(SHIPPED, image_bench.FLASK, {"/": (100, 200, 300)})
    other = _server(SYNC, image_bench.FLASK, {"/": (200, 400, 600)})
    # The other server's first round failed: its rounds are 2 and 3 only.
    other = replace(other, rounds={"/": other.rounds["/"][1:]})
    found = image_bench.ratio(shipped, other, "/")
    assert found is not None
    assert found.value == pytest.approx(200 / 500)
    assert (found.per_round.low, found.per_round.high) == (0.5, 0.5)


def test_a_measured_server_records_every_round_and_memory_in_mib():
    outcome = image_bench.Outcome(
        SHIPPED,
        image_bench.FLASK,
        idle=MemorySample(
            rss=60 * MIB,
            pss=30 * MIB + MIB // 2,
            cgroup=29 * MIB,
            processes=2,
            process_rss=(22 * MIB, 38 * MIB),
        ),
        rounds={"/": _rounds(400.0, 380.0)},
        peak_rss=61 * MIB,
        peak_cgroup=40 * MIB,
    )
    result = outcome.result()
    assert (result.configuration, result.app, result.name) == (
        "shipped",
        "Flask",
        "shipped (Flask)",
    )
    assert result.rounds == {"/": _rounds(400.0, 380.0)}
    assert result.idle == image_bench.IdleMemory(2, 60.0, 30.5, 29.0, [22.0, 38.0])
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
    assert image_bench.pod_flags(settings) == (
        "--cpus 0.25 --memory 192Mi --read-only --tmpfs /tmp --user 10001:10001 "
        "--cap-drop ALL --security-opt no-new-privileges"
    )


def test_a_benchmark_record_reads_back_as_the_run_it_was_written_from():
    record = _matrix_record()
    broken = image_bench.ServerResult(
        "sync", image_bench.BARE, {}, None, 0.0, 0.0, 0, False, "no image"
    )
    record = replace(record, servers=[*record.servers, broken])
    assert image_bench.record_from_json(records.to_json(record)) == record


def test_a_record_from_before_the_matrix_is_refused_with_what_to_do():
    with pytest.raises(image_bench.RecordFormatError, match="measure again with `make bench`"):
        image_bench.record_from_json('{"date": "2026-11-27 16:38 UTC", "servers": []}')


def test_the_render_flag_renders_the_report_next_to_a_record_without_docker(tmp_path: Path):
    recorded = tmp_path / "benchmark.json"
    recorded.write_text(records.to_json(_matrix_record()))
    assert image_bench.main(["--render", str(recorded)]) == 0
    expected = image_bench.report(image_bench.record_from_json(recorded.read_text()))
    assert (tmp_path / "benchmark.md").read_text() == expected


# --- what every record names ---


def test_the_chart_state_is_the_version_at_the_commit_and_says_when_the_chart_differs(tmp_path):
    chart = tmp_path / "charts" / "app"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: app\nversion: 3.1.4\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    run([*git, "init", "-q"])
    run([*git, "add", "."])
    run([*git, "commit", "-qm", "chart"])
    head = run([*git, "rev-parse", "--short", "HEAD"]).stdout.strip()

    assert records.chart_state(chart) == f"3.1.4 at commit {head}"
    (chart / "values.yaml").write_text("replicaCount: 2\n")
    assert records.chart_state(chart) == f"3.1.4 at commit {head}, modified"
