"""The container harness's pure parts: the chart's pod in docker's terms, the apt mirror, wrk,
and the benchmark's matrix and schedule."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.bench import image as image_bench
from harness.chart.render import render
from harness.container.app_container import (
    MemorySample,
    cpu_cores,
    cpu_seconds_of,
    memory_bytes,
    pod_settings,
    run_args,
)
from harness.container.baseimage import BaseImageError, debian_mirror
from harness.container.load import LoadError, SteadyLoad, WrkResult, parse_wrk, run_measured, wrk
from harness.core import records
from harness.toolchain import debian

WRK_REPORT = """\
Running 10s test @ http://127.0.0.1:32768/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    49.77ms   37.79ms   1.20s    54.54%
    Req/Sec   326.80    115.65   565.00     62.50%
  Latency Distribution
     50%  850.00us
     75%   85.20ms
     90%   95.60ms
     99%    1.20s
  3261 requests in 10.01s, 440.68KB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:    325.79
Transfer/sec:     54.47KB
"""


@pytest.mark.parametrize(("quantity", "cores"), [("200m", 0.2), ("1", 1.0), ("1.5", 1.5)])
def test_cpu_quantities_become_cores(quantity: str, cores: float) -> None:
    assert cpu_cores(quantity) == pytest.approx(cores)


@pytest.mark.parametrize(
    ("quantity", "size"), [("128Mi", 128 * 1024**2), ("16Mi", 16 * 1024**2), ("64M", 64 * 10**6)]
)
def test_memory_quantities_become_bytes(quantity: str, size: int) -> None:
    assert memory_bytes(quantity) == size


def test_pod_settings_are_the_chart_defaults_in_docker_terms() -> None:
    settings = pod_settings(render())
    assert (settings.cpus, settings.memory_bytes) == (0.2, 128 * 1024**2)
    assert settings.memory_request_bytes == 64 * 1024**2
    assert settings.user == "10001:10001"
    assert settings.read_only and settings.no_new_privileges
    assert settings.drop_capabilities == ("ALL",)
    assert settings.tmpfs == (f"/tmp:size={16 * 1024**2}",)
    assert settings.env == {
        "WEB_CONCURRENCY": "1",
        "GUNICORN_WORKER_CLASS": "gthread",
        "GUNICORN_THREADS": "1",
        "GUNICORN_KEEPALIVE": "5",
        "GUNICORN_GRACEFUL_TIMEOUT": "20",
        "GUNICORN_ACCESS_LOG": "true",
    }
    assert (settings.container_port, settings.termination_grace_s) == (8000, 30)


def test_pod_settings_follow_the_chart_values() -> None:
    settings = pod_settings(render(set={"gunicorn.threads": 8, "resources.limits.cpu": "500m"}))
    assert settings.env["GUNICORN_THREADS"] == "8"
    assert settings.cpus == 0.5


def test_docker_run_publishes_on_loopback_only_with_the_pod_limits() -> None:
    args = run_args(pod_settings(render()), "img:1", name="c")
    joined = " ".join(args)
    assert "--publish 127.0.0.1::8000" in joined
    for flag in (
        "--cpus 0.2",
        f"--memory {128 * 1024**2}b",
        "--user 10001:10001",
        "--read-only",
        "--cap-drop ALL",
        "--security-opt no-new-privileges",
        "--env WEB_CONCURRENCY=1",
    ):
        assert flag in joined
    assert args[-1] == "img:1"


def test_a_replaced_environment_drops_the_chart_one() -> None:
    args = run_args(pod_settings(render()), "img:1", name="c", env={}, command=["gunicorn"])
    assert not any(arg.startswith("WEB_CONCURRENCY=") for arg in args)
    assert args[-2:] == ["img:1", "gunicorn"]


def apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_mirror_comes_from_a_deb822_source_for_the_suite_itself(tmp_path: Path) -> None:
    security = (
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
    )
    main = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
    folder = apt_dir(tmp_path, {"sources.list.d/debian.sources": f"{security}\n{main}"})
    assert debian_mirror("bookworm", folder) == "http://mirror.example/debian"


def test_mirror_comes_from_a_one_line_source(tmp_path: Path) -> None:
    text = (
        "# deb http://old.example/debian bookworm main\n"
        "deb [arch=amd64] http://m.example/d bookworm main\n"
    )
    folder = apt_dir(tmp_path, {"sources.list": text})
    assert debian_mirror("bookworm", folder) == "http://m.example/d"


def test_no_source_for_the_suite_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    folder = apt_dir(tmp_path, {"sources.list": "deb http://m.example/d trixie main\n"})
    with pytest.raises(BaseImageError, match="no apt source for bookworm"):
        debian_mirror("bookworm", folder)


def test_wrk_report_is_read_with_units_and_errors() -> None:
    result = parse_wrk(WRK_REPORT)
    assert (result.requests, result.requests_per_s) == (3261, 325.79)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1200.0)
    assert (result.socket_errors, result.non_2xx, result.errors) == (5, 4, 9)


def test_an_unreadable_wrk_report_is_an_error() -> None:
    with pytest.raises(LoadError, match="no request count"):
        parse_wrk("wrk: connection refused\n")


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000/", "http://example.com/"])
def test_load_is_never_sent_beyond_loopback(url: str) -> None:
    with pytest.raises(LoadError, match="only ever sent to loopback"):
        wrk(url, seconds=1, connections=1)
    with pytest.raises(LoadError, match="only ever sent to loopback"):
        SteadyLoad(url, expected_body=b"")


def test_a_package_dpkg_does_not_know_has_no_installed_version() -> None:
    assert debian.installed_version("no-such-package-dfa") is None


def test_the_tested_debian_packages_are_listed_with_their_versions() -> None:
    lines = debian.version_lines()
    assert [line.split()[0] for line in lines] == list(debian.PACKAGES)


def test_a_report_alone_has_no_cpu_time_for_wrk() -> None:
    assert parse_wrk(WRK_REPORT).cpu_s == 0.0


def test_a_measured_command_reports_its_own_cpu_time_and_output() -> None:
    burn = "sum(i * i for i in range(3_000_000)); print('done')"
    done = run_measured([sys.executable, "-c", burn], timeout_s=60)
    assert (done.returncode, done.stdout) == (0, "done\n")
    assert done.cpu_s > 0.05


def test_a_measured_command_past_its_time_is_killed() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_measured(["sleep", "30"], timeout_s=0.2)


def test_cpu_seconds_come_from_cgroup_v1_cpuacct(tmp_path: Path) -> None:
    folder = tmp_path / "cpu,cpuacct" / "docker" / "abc"
    folder.mkdir(parents=True)
    (folder / "cpuacct.usage").write_text("2500000000\n")
    proc = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n"
    assert cpu_seconds_of(proc, tmp_path) == 2.5


def test_cpu_seconds_come_from_cgroup_v2_cpu_stat(tmp_path: Path) -> None:
    folder = tmp_path / "system.slice" / "docker-abc.scope"
    folder.mkdir(parents=True)
    (folder / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n")
    assert cpu_seconds_of("0::/system.slice/docker-abc.scope\n", tmp_path) == 1.5


def test_every_candidate_is_a_configuration_the_image_accepts_and_all_differ() -> None:
    env = dict(pod_settings(render()).env)
    configurations = [image_bench.configuration(c, env) for c in image_bench.CANDIDATES]
    settings = [
        (
            c.worker_class,
            c.workers,
            c.threads,
            c.keepalive_s if c.keeps_alive else 0,
            c.access_log,
            c.changes.get("GUNICORN_CMD_ARGS"),  # gunicorn's own access logger
        )
        for c in configurations
    ]
    assert len(set(settings)) == len(settings), settings
    shipped = configurations[0]
    assert (shipped.name, shipped.changes) == (image_bench.SHIPPED, {})
    assert {c.worker_class for c in configurations} == {"sync", "gthread"}
    assert {c.threads for c in configurations if c.worker_class == "gthread"} == {1, 4}
    assert {c.workers for c in configurations} == {1, 2}
    assert {c.keeps_alive for c in configurations} == {True, False}
    # Like for like with the chart's default: both classes are measured with the access log.
    assert {c.worker_class for c in configurations if c.access_log} == {"sync", "gthread"}
    assert set(image_bench.QUICK) <= {c.name for c in configurations}


def test_the_default_matrix_runs_in_about_twenty_minutes() -> None:
    servers = len(image_bench.CANDIDATES) * len(image_bench.APPS)
    minutes = image_bench.expected_seconds(servers, image_bench.DEFAULT_TIMING) / 60
    assert 15 <= minutes <= 22, minutes
    assert image_bench.expected_seconds(len(image_bench.QUICK) * 2, image_bench.QUICK_TIMING) < 120


def test_the_plan_names_the_matrix_and_its_duration() -> None:
    text = image_bench.plan_text(
        image_bench.select(["shipped", "sync"]), image_bench.DEFAULT_TIMING
    )
    assert text.splitlines() == [
        "2 configurations x 2 apps x 2 paths x 3 rounds = 24 loads of 2 s warm-up + 8 s, "
        "16 connections, 2 profiled loads: about 5 min besides building the image",
        "  shipped: the chart's environment",
        "  sync: GUNICORN_WORKER_CLASS=sync GUNICORN_THREADS=1 GUNICORN_ACCESS_LOG=false",
    ]


def test_an_unknown_configuration_is_refused_with_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match="no configuration named \\['fast'\\]; known: \\['shipped'"
    ):
        image_bench.select(["fast"])


def test_a_dry_run_prints_the_plan_without_docker(capsys: pytest.CaptureFixture[str]) -> None:
    assert image_bench.main(["--dry-run", "--quick"]) == 0
    assert capsys.readouterr().out.startswith("3 configurations x 2 apps x 2 paths x 1 rounds")


@pytest.mark.parametrize("rounds", [1, 2, 3, 4])
def test_each_round_loads_every_server_once_per_path(rounds: int) -> None:
    plan = image_bench.schedule(6, ("/", "/_health"), rounds)
    assert len(plan) == rounds
    for loads in plan:
        assert sorted(loads) == sorted((i, p) for i in range(6) for p in ("/", "/_health"))


def test_the_order_rotates_so_no_server_always_goes_first_or_last() -> None:
    plan = image_bench.schedule(6, ("/", "/_health"), 3)
    assert [loads[0][0] for loads in plan] == [0, 2, 4]
    assert [loads[-1][0] for loads in plan] == [5, 1, 3]
    # The paths swap places every other round.
    assert [loads[0][1] for loads in plan] == ["/", "/_health", "/"]
    positions = Counter(loads.index((0, "/")) for loads in plan)
    assert len(positions) == 3


def test_a_server_runs_the_chart_environment_with_its_configurations_changes() -> None:
    pod = pod_settings(render())
    sync = image_bench.configuration(image_bench.select(["sync"])[0], dict(pod.env))
    args = image_bench.server_run_args(pod, "img:1", sync, image_bench.FLASK)
    joined = " ".join(args)
    for flag in (
        "--env WEB_CONCURRENCY=1",
        "--env GUNICORN_WORKER_CLASS=sync",
        "--env GUNICORN_THREADS=1",
        "--env GUNICORN_ACCESS_LOG=false",
        "--env GUNICORN_GRACEFUL_TIMEOUT=20",
        "--cpus 0.2",
    ):
        assert flag in joined
    assert "--env GUNICORN_WORKER_CLASS=gthread" not in joined
    assert args[-1] == "img:1"  # the image's own command
    assert "--name dfa-bench-sync-flask" in joined


def test_the_framework_free_server_is_mounted_and_served_by_the_same_config() -> None:
    pod = pod_settings(render())
    shipped = image_bench.configuration(image_bench.CANDIDATES[0], dict(pod.env))
    args = image_bench.server_run_args(pod, "img:1", shipped, image_bench.BARE)
    assert args[args.index("img:1") + 1 :] == list(image_bench.CEILING_COMMAND)
    assert f"{image_bench.CEILING_DIR}:/srv/ceiling:ro" in args
    assert "--env GUNICORN_THREADS=1" in " ".join(args)


def test_servers_get_the_last_core_and_the_load_the_others() -> None:
    assert image_bench.placement_on([3, 0, 2, 1]) == image_bench.Placement("3", (0, 1, 2))
    pod = pod_settings(render())
    shipped = image_bench.configuration(image_bench.CANDIDATES[0], dict(pod.env))
    placed = image_bench.placement_on([0, 1])
    args = image_bench.server_run_args(pod, "img:1", shipped, image_bench.FLASK, placed)
    assert args[:3] == ["run", "--cpuset-cpus", "1"]
    assert args[-1] == "img:1"


def test_a_single_core_or_unpinned_run_leaves_placement_to_the_kernel() -> None:
    pod = pod_settings(render())
    shipped = image_bench.configuration(image_bench.CANDIDATES[0], dict(pod.env))
    for placed in (image_bench.placement_on([0]), image_bench.placement_on([0, 1], pinned=False)):
        assert placed == image_bench.Placement("", ())
        args = image_bench.server_run_args(pod, "img:1", shipped, image_bench.FLASK, placed)
        assert "--cpuset-cpus" not in args
        assert "left to the kernel" in placed.text()


def test_every_server_has_a_container_name_of_its_own() -> None:
    names = [
        image_bench.container_name(c.name, app)
        for c in image_bench.CANDIDATES
        for app in image_bench.APPS
    ]
    assert len(set(names)) == len(names)
    assert all(n.replace("-", "").isalnum() for n in names)


class FakeContainer:
    """A started server as image_bench.measure sees it: an address, CPU, memory and a state."""

    def __init__(self, name: str, rate: float) -> None:
        self.name, self.rate, self.url, self.cpu = name, rate, f"http://127.0.0.1:1/{name}", 0.0
        self.removed = False
        self.cores = ""  # the --cpuset-cpus it was started with

    def wait_healthy(self) -> None:
        pass

    def memory(self) -> MemorySample:
        return MemorySample(rss=50 * 2**20, pss=30 * 2**20, cgroup=31 * 2**20, processes=2)

    def cpu_seconds(self) -> float:
        self.cpu += 1.5
        return self.cpu

    def engine_cpu_seconds(self) -> float:
        return self.cpu / 10

    @property
    def state(self) -> dict[str, object]:
        return {"Running": True, "OOMKilled": False, "ExitCode": 0}

    def oom_kills(self) -> int:
        return 0

    def remove(self) -> None:
        self.removed = True


class FakeMonitor:
    def __init__(self, container: FakeContainer) -> None:
        self.peak = MemorySample(rss=52 * 2**20, pss=0, cgroup=33 * 2**20, processes=2)

    def __enter__(self) -> FakeMonitor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


def test_a_run_measures_every_server_in_every_round_and_renders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The measuring loop end to end with Docker and wrk replaced: what a run records."""
    started: dict[str, FakeContainer] = {}
    loads: list[tuple[str, int]] = []
    running: list[int] = []  # servers not yet removed, at each load

    def start(engine: object, args: list[str], name: str) -> FakeContainer:
        rate = 300.0 if "GUNICORN_ACCESS_LOG=true" in args else 600.0
        started[name] = FakeContainer(name, rate + (100 if "bare_wsgi:application" in args else 0))
        if "--cpuset-cpus" in args:
            started[name].cores = args[args.index("--cpuset-cpus") + 1]
        return started[name]

    def fake_wrk(url: str, *, seconds: int, connections: int) -> WrkResult:
        container = next(c for c in started.values() if url.startswith(c.url))
        loads.append((container.name, seconds))
        running.append(sum(not c.removed for c in started.values()))
        return WrkResult(int(container.rate * seconds), seconds, container.rate, 5, 50, 0, 0, 0.8)

    monkeypatch.setattr(image_bench, "start_container", start)
    monkeypatch.setattr(image_bench, "wrk", fake_wrk)
    monkeypatch.setattr(image_bench, "MemoryMonitor", FakeMonitor)
    monkeypatch.setattr(image_bench, "PROFILED", ())  # py-spy attaches to real processes only
    pod = pod_settings(render())
    configurations = [
        image_bench.configuration(c, dict(pod.env)) for c in image_bench.select(image_bench.QUICK)
    ]
    timing = image_bench.Timing(seconds=3, warmup_s=1, rounds=2, connections=4, pairs=1)
    placed = image_bench.placement_on([0, 1])
    engine: Any = object()  # measure only hands it on to start_container, replaced here
    outcomes, profiles, pairs = image_bench.measure(
        engine, "img:1", pod, configurations, timing, placed
    )

    assert all(c.removed for c in started.values()) and len(started) == 6
    assert all(c.cores == "1" for c in started.values())
    # One warm-up per server, then per round and path a warm-up and a measured load; then a
    # pair of loads per path, shipped and without the access log.
    assert len(loads) == 6 + 6 * 2 * 2 * 2 + 2 * 2
    assert profiles == []
    assert pairs == [image_bench.Pair(path, 300.0, 600.0) for path in image_bench.PATHS]
    assert [s for _, s in loads[6:10]] == [1, 3, 1, 3]
    # The pairs run once every other server is gone.
    assert running[6:-4] == [6] * (len(loads) - 10) and running[-4:] == [2] * 4
    shipped = outcomes[0].result()
    assert [r.round for r in shipped.rounds["/"]] == [1, 2]
    assert shipped.rounds["/"][0].server_cpu_s == pytest.approx(1.5)
    assert shipped.rounds["/"][0].engine_cpu_s == pytest.approx(0.15)
    assert shipped.rounds["/"][0].wrk_cpu_s == 0.8
    assert (shipped.peak_rss_mib, shipped.idle and shipped.idle.working_set_mib) == (52.0, 31.0)
    record = image_bench.Record(
        format=image_bench.RECORD_FORMAT,
        date="d",
        machine=image_bench.Machine(2, 23.5, "k", 0.5),
        engine="e",
        load_generator="wrk",
        seconds=3,
        connections=4,
        rounds=2,
        warmup_s=1,
        pod_flags="f",
        cpus=pod.cpus,
        memory_request_mib=64.0,
        chart_env=dict(pod.env),
        paths=list(image_bench.PATHS),
        configurations=configurations,
        servers=[o.result() for o in outcomes],
        profiles=profiles,
        pairs=pairs,
        placement=placed,
    )
    page = image_bench.report(image_bench.record_from_json(records.to_json(record)))
    assert "every server pinned to core 1 (`--cpuset-cpus 1`" in page
    assert "not met on `/`, 0.50x (rounds 0.50-0.50) of **shipped, no access log**" in page
