"""Benchmark the image inside the chart's default limits, against a ceiling and the defaults.

    python -m harness.container.bench [--seconds 10] [--connections 16] [--rounds 3] [--output FILE]

Every server runs in the app image with the chart's pod settings (0.2 CPU, 128Mi, read-only
root, uid 10001, no capabilities), side by side on the project's engine:

- shipped: the image as built, with the chart's gunicorn environment;
- bare WSGI: harness/container/ceiling/bare_wsgi.py (the same answers, no framework) under the very
  same gunicorn config and environment: the ceiling for this stack;
- gunicorn defaults: `gunicorn app.wsgi:application` with no config file and none of the
  chart's environment, only the bind made reachable: one sync worker, no threads;
- host-sized: the worker count gunicorn's docs suggest, 2 x host cores + 1 sync workers,
  which a pod limited to a fraction of one core cannot afford.

wrk loads one server at a time over loopback for a fixed time after a warm-up; with several
rounds the servers take turns and the median round is reported, so background load on the
machine hits every server alike. Results go to docs/benchmark.md and to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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
from harness.core.proc import CommandError, run
from harness.core.tools import ROOT

OUTPUT = ROOT / "docs" / "benchmark.md"
CEILING_DIR = Path(__file__).parent / "ceiling"
PATHS = ("/", "/_health")
WARMUP_S = 2
MIB = 1024 * 1024
SHIPPED = "shipped"
CEILING = "bare WSGI"
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


def servers(host_cores: int) -> list[Server]:
    defaults = ("gunicorn", "--bind", "0.0.0.0:8000", "app.wsgi:application")
    host_workers = 2 * host_cores + 1
    return [
        Server(SHIPPED, "the image's own command and the chart's gunicorn environment"),
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


def _start(engine: Engine, image_ref: str, pod: PodSettings, server: Server) -> Outcome:
    outcome = Outcome(server)
    name = "dfa-bench-" + server.name.replace(" ", "-")
    args = run_args(
        pod,
        image_ref,
        name=name,
        env=server.env,
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
    engine: Engine, image_ref: str, *, seconds: int, connections: int, rounds: int
) -> list[Outcome]:
    pod = chart_pod_settings()
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


def _mib(size: int | None) -> str:
    return "n/a" if not size else f"{size / MIB:.1f}"


def throughput_table(outcomes: Sequence[Outcome]) -> list[str]:
    [top_server] = [o for o in outcomes if o.server.name == CEILING]
    ceiling = {path: top_server.median(path) for path in PATHS}
    rows = [
        "| server | path | req/s | vs bare WSGI | p50 ms | p99 ms | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for outcome in outcomes:
        for path in PATHS:
            result = outcome.median(path)
            if result is None:
                rows.append(f"| {outcome.server.name} | `{path}` |" + " n/a |" * 5)
                continue
            top = ceiling[path]
            ratio = f"{result.requests_per_s / top.requests_per_s:.2f}" if top else "n/a"
            rows.append(
                f"| {outcome.server.name} | `{path}` | {result.requests_per_s:.0f} | {ratio} "
                f"| {result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.errors} |"
            )
    return rows


def memory_table(outcomes: Sequence[Outcome]) -> list[str]:
    rows = [
        "| server | processes | idle RSS MiB | idle PSS MiB | idle working set MiB "
        "| peak RSS MiB | peak working set MiB | OOM kills | notes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for outcome in outcomes:
        idle = outcome.idle
        rows.append(
            f"| {outcome.server.name} | {idle.processes if idle else 'n/a'} "
            f"| {_mib(idle and idle.rss)} | {_mib(idle and idle.pss)} "
            f"| {_mib(idle and idle.cgroup)} | {_mib(outcome.peak_rss)} "
            f"| {_mib(outcome.peak_cgroup)} | {outcome.oom_kills} "
            f"| {outcome.failure or ('OOMKilled' if outcome.oom_killed else '')} |"
        )
    return rows


def goals(outcomes: Sequence[Outcome]) -> list[str]:
    """The issue's three goals, each with what this run reached."""
    by_name = {o.server.name: o for o in outcomes}
    shipped, ceiling = by_name[SHIPPED], by_name[CEILING]
    ratios = []
    for path in PATHS:
        mine, top = shipped.median(path), ceiling.median(path)
        if mine and top:
            ratios.append(f"{mine.requests_per_s / top.requests_per_s:.2f}x on `{path}`")
    idle = shipped.idle
    oom = [o.server.name for o in outcomes if o.oom_kills or o.oom_killed]
    oom_text = f"OOM kills in {', '.join(oom)}" if oom else "no OOM kill in any server"
    return [
        f"- Throughput at least 0.9x the bare WSGI ceiling: shipped reaches "
        f"{', '.join(ratios) or 'n/a'}.",
        f"- Idle RSS at most 64 MiB: shipped {_mib(idle and idle.rss)} MiB "
        f"(PSS {_mib(idle and idle.pss)}, working set {_mib(idle and idle.cgroup)}).",
        f"- Never OOM-killed: {oom_text}.",
    ]


def _machine() -> str:
    meminfo = Path("/proc/meminfo").read_text().split()
    memory_gib = int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores, {memory_gib:.1f} GiB RAM, Linux {platform.release()}; "
        f"load average {load:.1f} when the run started (other work on the machine skews "
        "throughput and latency)"
    )


def report(
    outcomes: Sequence[Outcome],
    *,
    engine: Engine,
    seconds: int,
    connections: int,
    rounds: int,
    machine: str,
) -> str:
    wrk_version = run(["wrk", "--version"], check=False).stdout.split("[")[0].strip()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    median = f", the median of {rounds} rounds" if rounds > 1 else ""
    lines = [
        "# Benchmark: the image inside the chart's limits",
        "",
        f"Generated by `make bench` (harness/container/bench.py) on {now}; do not edit by hand.",
        "",
        f"- Machine: {machine}.",
        f"- Engine: Docker {engine.server_version()}; load: {wrk_version}, 1 thread, "
        f"{connections} connections, {seconds} s per row after a {WARMUP_S} s warm-up{median}, "
        "over loopback to a port published on 127.0.0.1.",
        "- Every server runs in the app image with the chart's default pod settings: "
        "`--cpus 0.2 --memory 128Mi --read-only --tmpfs /tmp --user 10001:10001 "
        "--cap-drop ALL --security-opt no-new-privileges`.",
        "",
        "## Against the goals",
        "",
        *goals(outcomes),
        "",
        "## Servers",
        "",
        *[f"- **{o.server.name}**: {o.server.description}." for o in outcomes],
        "",
        "## Throughput and latency",
        "",
        *throughput_table(outcomes),
        "",
        "## Memory",
        "",
        "RSS adds up each process's resident pages, so pages the gunicorn master shares with "
        "its workers count once per process; PSS splits shared pages between the processes; "
        "the working set is the container's memory cgroup less inactive file cache, what the "
        "kubelet compares with requests and the limit. Idle is measured after the warm-up; "
        "peaks are sampled every 0.5 s under load. The image's file pages count against the "
        "container that read them first (here the build), so on a fresh node the first pod's "
        "working set is higher by up to the files it loads.",
        "",
        *memory_table(outcomes),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.container.bench", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="load time per row")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="report the median of N rounds")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    engine = Engine()
    started = not engine.is_running()
    try:
        machine = _machine()
        image_ref = up(engine)
        outcomes = measure(
            engine,
            image_ref,
            seconds=args.seconds,
            connections=args.connections,
            rounds=args.rounds,
        )
        text = report(
            outcomes,
            engine=engine,
            seconds=args.seconds,
            connections=args.connections,
            rounds=args.rounds,
            machine=machine,
        )
    except (EngineError, BaseImageError, ContainerError, CommandError, LoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if started:
            engine.stop()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
