"""Benchmark the image inside the chart's default limits, against a ceiling and the defaults.

    python -m harness.container.bench [--seconds 10] [--connections 16] [--rounds 3] [--output FILE]
    python -m harness.container.bench --render docs/benchmark.json

Every server runs in the app image with the chart's pod settings (0.2 CPU, 128Mi, read-only
root, uid 10001, no capabilities), side by side on the project's engine:

- shipped: the image as built, with the chart's gunicorn environment;
- master imports Flask: the same, but gunicorn's master imports Flask before it starts, as it
  did before commit e288ef4 (app/__init__.py imported Flask then, and the config file imports
  app.settings): the idle memory before that change, measured in the same run;
- no access log: shipped with GUNICORN_ACCESS_LOG=false added to the chart's environment;
- bare WSGI: harness/container/ceiling/bare_wsgi.py (the same answers, no framework) under the very
  same gunicorn config and environment: the ceiling for this stack;
- gunicorn defaults: `gunicorn app.wsgi:application` with no config file and none of the
  chart's environment, only the bind made reachable: one sync worker, no threads;
- host-sized: the worker count gunicorn's docs suggest, 2 x host cores + 1 sync workers,
  which a pod limited to a fraction of one core cannot afford.

wrk loads one server at a time over loopback for a fixed time after a warm-up; with several
rounds the servers take turns and the median round is reported, so background load on the
machine hits every server alike. The run is recorded first, as JSON next to the report
(docs/benchmark.json: every figure the report shows, the machine and the settings), and
docs/benchmark.md is rendered from that record alone, so `--render` renders it again after a
change to the report's text, with no Docker and no wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.container.baseimage import BaseImageError
from harness.container.engine import Engine, EngineError
from harness.container.load import LoadError, WrkResult, wrk
from harness.container.pod import (
    Container,
    ContainerError,
    MemoryMonitor,
    MemorySample,
    PodSettings,
    chart_pod_settings,
    run_args,
    start_container,
    up,
)
from harness.core import records
from harness.core.proc import CommandError, run
from harness.core.records import Machine, this_machine
from harness.core.tools import ROOT

OUTPUT = ROOT / "docs" / "benchmark.md"
CEILING_DIR = Path(__file__).parent / "ceiling"
PATHS = ("/", "/_health")
WARMUP_S = 2
MIB = 1024 * 1024
SHIPPED = "shipped"
MASTER_IMPORTS_FLASK = "master imports Flask"
CEILING = "bare WSGI"
IDLE_RSS_GOAL_MIB = 40
# The image's command, started from a Python that has imported what app/__init__.py imported
# before commit e288ef4 (the factory's module now) after gunicorn's own modules.
MASTER_IMPORTS_FLASK_COMMAND = (
    "python",
    "-c",
    "import sys; from gunicorn.app.wsgiapp import run; import app.factory; "
    "sys.exit(run(prog='gunicorn'))",
    "--config",
    "app/gunicorn.conf.py",
    "app.wsgi:application",
)
CEILING_COMMAND = (
    "gunicorn",
    "--config",
    "app/gunicorn.conf.py",
    "--pythonpath",
    "/srv/ceiling",
    "bare_wsgi:application",
)


@dataclass(frozen=True)
class Server:
    name: str
    description: str
    command: tuple[str, ...] = ()
    env: dict[str, str] | None = None  # None: the chart's environment
    volumes: tuple[str, ...] = ()
    extra_env: dict[str, str] = field(default_factory=dict)  # added to the chart's environment


def servers(host_cores: int) -> list[Server]:
    defaults = ("gunicorn", "--bind", "0.0.0.0:8000", "app.wsgi:application")
    host_workers = 2 * host_cores + 1
    return [
        Server(SHIPPED, "the image's own command and the chart's gunicorn environment"),
        Server(
            MASTER_IMPORTS_FLASK,
            "as shipped, but gunicorn's master imports Flask before it starts, as it did before "
            "commit e288ef4 moved the factory out of app/__init__.py: the idle memory before "
            "that change",
            MASTER_IMPORTS_FLASK_COMMAND,
        ),
        Server(
            "no access log",
            "as shipped with `GUNICORN_ACCESS_LOG=false` added to the chart's environment",
            extra_env={"GUNICORN_ACCESS_LOG": "false"},
        ),
        Server(
            CEILING,
            "a framework-free WSGI callable under the same gunicorn config and environment",
            CEILING_COMMAND,
            volumes=(f"{CEILING_DIR}:/srv/ceiling:ro",),
        ),
        Server(
            "gunicorn defaults",
            "`gunicorn app.wsgi:application`, no config file, no chart environment; only "
            "`--bind 0.0.0.0:8000` added (the default 127.0.0.1 is unreachable from outside "
            "the container): 1 sync worker, 1 thread, no keep-alive, no access log",
            defaults,
            env={},
        ),
        Server(
            "host-sized",
            f"as above with `--workers {host_workers}`: gunicorn's docs' 2 x cores + 1 for "
            f"this {host_cores}-core host",
            (*defaults[:-1], "--workers", str(host_workers), defaults[-1]),
            env={},
        ),
    ]


@dataclass(frozen=True)
class PathResult:
    """A path's median round, as the throughput table shows it."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass(frozen=True)
class IdleMemory:
    """A server's memory after the warm-up, in MiB."""

    processes: int
    rss_mib: float
    pss_mib: float
    working_set_mib: float
    rss_per_process_mib: list[float] = field(default_factory=list)  # gunicorn's master first


@dataclass(frozen=True)
class ServerResult:
    """One server as the report shows it: each path's median round, memory in MiB.

    Only the median round is kept, and memory in the report's unit: a record holds what the
    report shows, at full precision, so a report can always be written down as a record
    without making up the figures it rounded or left out.
    """

    name: str
    description: str
    paths: dict[str, PathResult]  # a path without a result (the server failed) is missing
    idle: IdleMemory | None
    peak_rss_mib: float
    peak_working_set_mib: float
    oom_kills: int
    oom_killed: bool
    failure: str


@dataclass(frozen=True)
class Record:
    """One `make bench` run as docs/benchmark.json keeps it: settings, machine and results."""

    date: str
    machine: Machine
    engine: str
    load_generator: str
    seconds: int
    connections: int
    rounds: int
    warmup_s: int
    pod_flags: str
    paths: list[str]
    servers: list[ServerResult]


@dataclass
class Outcome:
    server: Server
    container: Container | None = None
    idle: MemorySample | None = None
    runs: dict[str, list[WrkResult]] = field(default_factory=dict)
    peak_rss: int = 0
    peak_cgroup: int = 0
    oom_kills: int = 0
    oom_killed: bool = False
    failure: str = ""

    def median(self, path: str) -> WrkResult | None:
        results = sorted(self.runs.get(path, []), key=lambda r: r.requests_per_s)
        return results[len(results) // 2] if results else None

    def result(self) -> ServerResult:
        """What the report shows of this server, for the run's record."""
        idle = self.idle
        idle_mib = None
        if idle is not None:
            idle_mib = IdleMemory(
                idle.processes,
                idle.rss / MIB,
                idle.pss / MIB,
                idle.cgroup / MIB,
                [rss / MIB for rss in idle.process_rss],
            )
        medians = {path: self.median(path) for path in PATHS}
        return ServerResult(
            name=self.server.name,
            description=self.server.description,
            paths={
                path: PathResult(r.requests_per_s, r.p50_ms, r.p99_ms, r.errors)
                for path, r in medians.items()
                if r is not None
            },
            idle=idle_mib,
            peak_rss_mib=self.peak_rss / MIB,
            peak_working_set_mib=self.peak_cgroup / MIB,
            oom_kills=self.oom_kills,
            oom_killed=self.oom_killed,
            failure=self.failure,
        )


def _start(engine: Engine, image_ref: str, pod: PodSettings, server: Server) -> Outcome:
    outcome = Outcome(server)
    name = "dfa-bench-" + server.name.replace(" ", "-")
    args = run_args(
        pod,
        image_ref,
        name=name,
        env=server.env if server.env is not None else {**pod.env, **server.extra_env},
        volumes=server.volumes,
        command=server.command,
    )
    try:
        outcome.container = start_container(engine, args, name)
        outcome.container.wait_healthy()
    except (ContainerError, CommandError) as error:
        outcome.failure = f"did not start: {str(error).splitlines()[0]}"
    return outcome


def _load(outcome: Outcome, path: str, seconds: int, connections: int) -> None:
    container = outcome.container
    if container is None or outcome.failure:
        return
    try:
        with MemoryMonitor(container) as monitor:
            result = wrk(f"{container.url}{path}", seconds=seconds, connections=connections)
    except LoadError as error:
        outcome.failure = f"load failed: {error}"
        return
    outcome.runs.setdefault(path, []).append(result)
    outcome.peak_rss = max(outcome.peak_rss, monitor.peak.rss)
    outcome.peak_cgroup = max(outcome.peak_cgroup, monitor.peak.cgroup)


def _finish(outcome: Outcome) -> None:
    container = outcome.container
    if container is None:
        return
    state = container.state
    outcome.oom_killed = bool(state["OOMKilled"])
    if state["Running"]:
        outcome.oom_kills = container.oom_kills()
    elif not outcome.failure:
        outcome.failure = f"exited with {state['ExitCode']} (OOMKilled: {state['OOMKilled']})"
    container.remove()


def measure(
    engine: Engine,
    image_ref: str,
    pod: PodSettings,
    *,
    seconds: int,
    connections: int,
    rounds: int,
) -> list[Outcome]:
    outcomes = [_start(engine, image_ref, pod, server) for server in servers(os.cpu_count() or 1)]
    try:
        for outcome in outcomes:
            if outcome.container is None or outcome.failure:
                continue
            # Idle means after a warm-up: a worker imports parts of Flask on its first requests.
            wrk(f"{outcome.container.url}/", seconds=WARMUP_S, connections=connections)
            outcome.idle = outcome.container.memory()
        for round_number in range(rounds):
            for path in PATHS:
                for outcome in outcomes:
                    print(
                        f"round {round_number + 1}/{rounds} {path} {outcome.server.name}",
                        flush=True,
                    )
                    _load(outcome, path, seconds, connections)
        for outcome in outcomes:
            _finish(outcome)
    finally:
        for outcome in outcomes:
            if outcome.container is not None:
                outcome.container.remove()
    return outcomes


def pod_flags(pod: PodSettings) -> str:
    """The chart's pod settings as the `docker run` flags that bound the figures."""
    flags = [f"--cpus {pod.cpus:g}", f"--memory {pod.memory_bytes / MIB:g}Mi"]
    if pod.read_only:
        flags.append("--read-only")
    flags += [f"--tmpfs {mount.split(':')[0]}" for mount in pod.tmpfs]
    flags.append(f"--user {pod.user}")
    flags += [f"--cap-drop {capability}" for capability in pod.drop_capabilities]
    if pod.no_new_privileges:
        flags.append("--security-opt no-new-privileges")
    return " ".join(flags)


def _server_from_dict(data: dict[str, Any]) -> ServerResult:
    idle = data["idle"]
    return ServerResult(
        **{
            **data,
            "paths": {path: PathResult(**r) for path, r in data["paths"].items()},
            "idle": None if idle is None else IdleMemory(**idle),
        }
    )


def record_from_json(text: str) -> Record:
    data = json.loads(text)
    return Record(
        **{
            **data,
            "machine": Machine(**data["machine"]),
            "servers": [_server_from_dict(server) for server in data["servers"]],
        }
    )


def _mib(size: float | None) -> str:
    return "n/a" if not size else f"{size:.1f}"


def throughput_table(record: Record) -> list[str]:
    [top_server] = [s for s in record.servers if s.name == CEILING]
    rows = [
        "| server | path | req/s | vs bare WSGI | p50 ms | p99 ms | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for server in record.servers:
        for path in record.paths:
            result = server.paths.get(path)
            if result is None:
                rows.append(f"| {server.name} | `{path}` |" + " n/a |" * 5)
                continue
            top = top_server.paths.get(path)
            ratio = f"{result.requests_per_s / top.requests_per_s:.2f}" if top else "n/a"
            rows.append(
                f"| {server.name} | `{path}` | {result.requests_per_s:.0f} | {ratio} "
                f"| {result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.errors} |"
            )
    return rows


def memory_table(record: Record) -> list[str]:
    rows = [
        "| server | processes | idle RSS MiB | idle RSS per process MiB | idle PSS MiB "
        "| idle working set MiB | peak RSS MiB | peak working set MiB | OOM kills | notes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for server in record.servers:
        idle = server.idle
        per_process = " + ".join(_mib(rss) for rss in idle.rss_per_process_mib) if idle else ""
        rows.append(
            f"| {server.name} | {idle.processes if idle else 'n/a'} "
            f"| {_mib(idle and idle.rss_mib)} | {per_process or 'n/a'} "
            f"| {_mib(idle and idle.pss_mib)} "
            f"| {_mib(idle and idle.working_set_mib)} | {_mib(server.peak_rss_mib)} "
            f"| {_mib(server.peak_working_set_mib)} | {server.oom_kills} "
            f"| {server.failure or ('OOMKilled' if server.oom_killed else '')} |"
        )
    return rows


def goals(record: Record) -> list[str]:
    """The issue's three goals, each with what this run reached."""
    by_name = {s.name: s for s in record.servers}
    shipped, ceiling = by_name[SHIPPED], by_name[CEILING]
    ratios = []
    for path in record.paths:
        mine, top = shipped.paths.get(path), ceiling.paths.get(path)
        if mine and top:
            ratios.append(f"{mine.requests_per_s / top.requests_per_s:.2f}x on `{path}`")
    idle = shipped.idle
    met = "met" if idle and idle.rss_mib <= IDLE_RSS_GOAL_MIB else "not met"
    before = by_name.get(MASTER_IMPORTS_FLASK)
    before_text = f"; with the master importing Flask as before, {_idle(before)}" if before else ""
    oom = [s.name for s in record.servers if s.oom_kills or s.oom_killed]
    oom_text = f"OOM kills in {', '.join(oom)}" if oom else "no OOM kill in any server"
    return [
        f"- Throughput at least 0.9x the bare WSGI ceiling: shipped reaches "
        f"{', '.join(ratios) or 'n/a'}.",
        f"- Idle RSS at most {IDLE_RSS_GOAL_MIB} MiB: {met}, shipped {_idle(shipped)}"
        f"{before_text}.",
        f"- Never OOM-killed: {oom_text}.",
    ]


def _idle(server: ServerResult) -> str:
    idle = server.idle
    return (
        f"{_mib(idle and idle.rss_mib)} MiB (PSS {_mib(idle and idle.pss_mib)}, "
        f"working set {_mib(idle and idle.working_set_mib)})"
    )


def _load_generator() -> str:
    return run(["wrk", "--version"], check=False).stdout.split("[")[0].strip()


def report(record: Record) -> str:
    """docs/benchmark.md's text: a function of the record alone (no clock, machine or engine)."""
    m = record.machine
    median = f", the median of {record.rounds} rounds" if record.rounds > 1 else ""
    lines = [
        "# Benchmark: the image inside the chart's limits",
        "",
        f"Generated by `make bench` (harness/container/bench.py) on {record.date} from the run's "
        "record, docs/benchmark.json (`python -m harness.container.bench --render "
        "docs/benchmark.json` renders this page again from it); do not edit by hand.",
        "",
        f"- Machine: {m.cores} cores, {m.memory_gib:.1f} GiB RAM, Linux {m.kernel}; "
        f"load average {m.load_average:.1f} when the run started (other work on the machine "
        "skews throughput and latency).",
        f"- Engine: {record.engine}; load: {record.load_generator}, 1 thread, "
        f"{record.connections} connections, {record.seconds} s per row after a "
        f"{record.warmup_s} s warm-up{median}, over loopback to a port published on 127.0.0.1.",
        "- Every server runs in the app image with the chart's default pod settings: "
        f"`{record.pod_flags}`.",
        "",
        "## Against the goals",
        "",
        *goals(record),
        "",
        "## Servers",
        "",
        *[f"- **{s.name}**: {s.description}." for s in record.servers],
        "",
        "## Throughput and latency",
        "",
        *throughput_table(record),
        "",
        "## Memory",
        "",
        "RSS adds up each process's resident pages, so pages the gunicorn master shares with "
        "its workers count once per process; PSS splits shared pages between the processes; "
        "the working set is the container's memory cgroup less inactive file cache, what the "
        "kubelet compares with requests and the limit. RSS per process lists gunicorn's master "
        "first, then its workers. Idle is measured after the warm-up; "
        "peaks are sampled every 0.5 s under load. The image's file pages count against the "
        "container that read them first (here the build), so on a fresh node the first pod's "
        "working set is higher by up to the files it loads.",
        "",
        *memory_table(record),
        "",
    ]
    return "\n".join(lines)


def _run(engine: Engine, args: argparse.Namespace) -> Record:
    machine = this_machine()  # before the load: the load average says what else was running
    pod = chart_pod_settings()
    image_ref = up(engine)
    outcomes = measure(
        engine,
        image_ref,
        pod,
        seconds=args.seconds,
        connections=args.connections,
        rounds=args.rounds,
    )
    return Record(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine,
        engine=f"Docker {engine.server_version()}",
        load_generator=_load_generator(),
        seconds=args.seconds,
        connections=args.connections,
        rounds=args.rounds,
        warmup_s=WARMUP_S,
        pod_flags=pod_flags(pod),
        paths=list(PATHS),
        servers=[outcome.result() for outcome in outcomes],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.container.bench", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="load time per row")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="report the median of N rounds")
    records.add_output_arguments(parser, "--output", OUTPUT, needs="Docker, no wrk")
    args = parser.parse_args(argv)
    if args.render:
        print(f"written to {records.render_next_to(args.render, record_from_json, report)}")
        return 0
    engine = Engine()
    started = not engine.is_running()
    try:
        record = _run(engine, args)
    except (EngineError, BaseImageError, ContainerError, CommandError, LoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if started:
            engine.stop()
    recorded = records.write(args.output, record, record_from_json, report)
    print(args.output.read_text())
    print(f"written to {args.output} and {recorded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
