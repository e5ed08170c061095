"""Benchmark server configurations inside the chart's limits, each with Flask and without.

    python -m harness.bench.image [--seconds 8] [--rounds 3] [--only NAME ...] [--output FILE]
    python -m harness.bench.image --quick      # a smoke run: 3 configurations, 1 short round
    python -m harness.bench.image --dry-run    # print the matrix and its duration, no Docker
    python -m harness.bench.image --render docs/benchmark.json

Every candidate configuration is the chart's environment with a few gunicorn variables changed
(GUNICORN_WORKER_CLASS, WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_KEEPALIVE,
GUNICORN_ACCESS_LOG), exactly as chart values would set them; "shipped" is the chart's
environment untouched. Each configuration runs twice, in the app image with the chart's pod
settings (0.2 CPU, 128Mi, read-only root, uid 10001, no capabilities): once serving the Flask
app and once serving harness/bench/ceiling/bare_wsgi.py, the same answers with no framework.
The fastest framework-free server is the true ceiling inside the limits; the fastest Flask
server is the best configuration of the app; the gap between the two is what Flask costs, the
gap from the best Flask server to shipped is what the settings cost.

On a noisy machine: every server is started first and stays up; each round then loads every
server once per path, in an order rotated from round to round, each load after a warm-up of
its own, so background load falls on all servers alike. Each row shows the median round and
the spread (min to max); the verdicts are ratios of servers measured in the same run, with the
range of the per-round ratios (two servers in one round ran minutes apart at most). wrk's own
CPU time and the server's (its cgroup's) are recorded per load.

The run is recorded first, as JSON next to the report (docs/benchmark.json: every figure the
report shows, the machine and the settings), and docs/benchmark.md is rendered from that record
alone, so `--render` renders it again after a change to the report's text, with no Docker and
no wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.settings import ServerSettings, server_settings
from harness.container.app_container import (
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
from harness.container.baseimage import BaseImageError
from harness.container.engine import Engine, EngineError
from harness.container.load import LoadError, wrk
from harness.core import records
from harness.core.proc import CommandError, run
from harness.core.records import Machine, this_machine
from harness.core.tools import ROOT

OUTPUT = ROOT / "docs" / "benchmark.md"
QUICK_OUTPUT = ROOT / ".tools" / "scratch" / "benchmark-quick.md"
CEILING_DIR = Path(__file__).parent / "ceiling"
PATHS = ("/", "/_health")
MIB = 1024 * 1024
# 1: the single-configuration benchmark before issue 13 (no "format" key); 2: before issue 24
# (no engine CPU per load, no profiles); 3: before the servers and the load had cores of their own
RECORD_FORMAT = 4
SHIPPED = "shipped"
UNLOGGED = "shipped, no access log"
GUNICORNS_LOGGER = "shipped, gunicorn's access logger"
FLASK = "Flask"
BARE = "bare WSGI"
APPS = (FLASK, BARE)
GOAL_RATIO = 0.9
# The access log on may cost at most 5% of the requests a second of the same settings without it.
ACCESS_LOG_GOAL_RATIO = 0.95
# The idle working set (what the kubelet counts) the shipped server stays under.
IDLE_WORKING_SET_GOAL_MIB = 40
# What a run costs besides the loads themselves, for the duration printed before it starts:
# `docker run` until /_health answers under 0.2 CPU, and per load the docker inspects around it.
START_S = 3.0
LOAD_OVERHEAD_S = 0.5
CEILING_COMMAND = (
    "gunicorn",
    "--config",
    "app/gunicorn.conf.py",
    "--pythonpath",
    "/srv/ceiling",
    "bare_wsgi:application",
)


@dataclass(frozen=True)
class Candidate:
    """A server configuration: the chart's environment with `changes` made to it."""

    name: str
    why: str
    changes: dict[str, str] = field(default_factory=dict)


_NO_LOG = {"GUNICORN_ACCESS_LOG": "false"}
_SYNC = {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_THREADS": "1"}
# gunicorn's own access logger in place of the image's (app/accesslog.py); the environment's
# command-line arguments win over the image's gunicorn.conf.py.
_GUNICORNS_LOGGER = {"GUNICORN_CMD_ARGS": "--logger-class gunicorn.glogging.Logger"}

# One factor at a time around the shipped settings without the access log, the access log on
# for both worker classes (the chart's default keeps it on) and the settings chart 0.5.0
# shipped: 9 configurations, about 20 minutes with the default timing (see expected_seconds).
CANDIDATES = (
    Candidate(SHIPPED, "the chart's default environment, untouched"),
    Candidate(UNLOGGED, "the access log's cost, as its own row", _NO_LOG),
    Candidate(
        GUNICORNS_LOGGER,
        "the same line from gunicorn's own logger: what the image's logger saves",
        _GUNICORNS_LOGGER,
    ),
    Candidate(
        "chart 0.5.0",
        "the previous defaults: 4 threads and gunicorn's own access logger",
        {"GUNICORN_THREADS": "4", **_GUNICORNS_LOGGER},
    ),
    Candidate(
        "sync, access log",
        "the sync worker with the chart's default access log: like for like with shipped",
        _SYNC,
    ),
    Candidate("sync", "gunicorn's own default worker: one request at a time", {**_SYNC, **_NO_LOG}),
    Candidate(
        "sync, 2 workers",
        "two requests at a time from two processes sharing the same 0.2 CPU",
        {**_SYNC, "WEB_CONCURRENCY": "2", **_NO_LOG},
    ),
    Candidate(
        "gthread, 4 threads",
        "more requests in flight in one process",
        {"GUNICORN_THREADS": "4", **_NO_LOG},
    ),
    Candidate(
        "gthread, no keep-alive",
        "keep-alive's share: every connection closed after its response, as with sync",
        {"GUNICORN_KEEPALIVE": "0", **_NO_LOG},
    ),
)
# Configurations the report compares shipped with one by one (when the run measured them):
# name, what the comparison shows, and what shipped's ratio is of.
COMPARISONS = (
    (
        UNLOGGED,
        "The access log (on in the chart's default)",
        "of the same settings without it",
    ),
    (
        GUNICORNS_LOGGER,
        "The image's access logger (app/accesslog.py)",
        "of the same settings with gunicorn's own logger",
    ),
    ("chart 0.5.0", "The previous defaults", "of chart 0.5.0's settings"),
)
QUICK = (SHIPPED, UNLOGGED, "sync")
# The configurations whose worker py-spy samples under load, for where the access log's time
# goes: the shipped logger, no access log, and gunicorn's own logger.
PROFILED = (SHIPPED, UNLOGGED, GUNICORNS_LOGGER)
PY_SPY = Path(sys.executable).parent / "py-spy"
PROFILE_RATE = 1000  # samples a second
# Frames of the access log's code in py-spy's stacks: gunicorn's Logger.access or the image's
# AccessLogger.access, and what they call (the error log's calls are not counted).
ACCESS_LOG_FRAMES = ("Logger.access (",)
# A frame of gthread's request handling: the stacks of the thread serving a request.
SERVING_FRAME = "ThreadWorker.handle ("
# The innermost Python frames that write a log line to the stream: logging's StreamHandler
# (gunicorn's) and the image's batch. Time in them is the write and what waits on it.
WRITING_FRAMES = ("StreamHandler.emit (", "StreamHandler.flush (", "BatchedLines._write_batch (")


@dataclass(frozen=True)
class Timing:
    seconds: int  # measured load per path and round
    warmup_s: int  # load before each measured one, and once before the idle memory
    rounds: int
    connections: int
    pairs: int = 0  # back-to-back pairs of shorter loads, logged and not, per path


# One load of a server at 0.2 CPU varies by up to about 10% from the next (Placement), more than
# the 5% the access log may cost; the access log's own line comes from the median of many
# short back-to-back pairs.
PAIR_SECONDS = 3
DEFAULT_TIMING = Timing(seconds=8, warmup_s=2, rounds=3, connections=16, pairs=24)
QUICK_TIMING = Timing(seconds=3, warmup_s=1, rounds=1, connections=16, pairs=2)


def expected_seconds(
    servers: int, timing: Timing, paths: int = len(PATHS), profiled: int = 0, paired: bool = False
) -> float:
    """How long a run takes, besides building the image: starts, warm-ups, loads, profiles and
    the access log's pairs."""
    loads = servers * paths * timing.rounds + profiled * paths
    per_load = timing.warmup_s + timing.seconds + LOAD_OVERHEAD_S
    pairs = 2 * timing.pairs * paths * (PAIR_SECONDS + LOAD_OVERHEAD_S) if paired else 0
    return servers * (START_S + timing.warmup_s) + loads * per_load + pairs


def duration_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def plan_text(candidates: Sequence[Candidate], timing: Timing) -> str:
    """The matrix and what it costs, printed before a run (and by --dry-run)."""
    servers = len(candidates) * len(APPS)
    loads = servers * len(PATHS) * timing.rounds
    names = {c.name for c in candidates}
    profiled = len(names & set(PROFILED))
    paired = {SHIPPED, UNLOGGED} <= names and timing.pairs > 0
    extras = [f"{profiled * len(PATHS)} profiled loads"] if profiled else []
    if paired:
        extras.append(
            f"{timing.pairs} pairs of {PAIR_SECONDS} s loads per path with and without the"
            " access log"
        )
    took = expected_seconds(servers, timing, profiled=profiled, paired=paired)
    lines = [
        f"{len(candidates)} configurations x {len(APPS)} apps x {len(PATHS)} paths x "
        f"{timing.rounds} rounds = {loads} loads of {timing.warmup_s} s warm-up + "
        f"{timing.seconds} s, {timing.connections} connections"
        + "".join(f", {extra}" for extra in extras)
        + f": about {duration_text(took)} besides building the image",
    ]
    for c in candidates:
        changes = " ".join(f"{k}={v}" for k, v in c.changes.items()) or "the chart's environment"
        lines.append(f"  {c.name}: {changes}")
    return "\n".join(lines)


def schedule(servers: int, paths: Sequence[str], rounds: int) -> list[list[tuple[int, str]]]:
    """Each round's loads in order, as (server index, path): every server once per path.

    The servers' order is rotated by a 1/rounds turn each round and the paths swap places
    every other round, so no server always runs first, last or next to the same neighbour's
    path: a slow spell on the machine falls on different servers in different rounds.
    """
    order = []
    for number in range(rounds):
        shift = number * servers // rounds if rounds else 0
        rotated = [*range(shift, servers), *range(shift)]
        round_paths = list(paths) if number % 2 == 0 else list(reversed(paths))
        order.append([(index, path) for index in rotated for path in round_paths])
    return order


# --- the record ---


@dataclass(frozen=True)
class Configuration:
    """A configuration as measured: what it changed and what gunicorn ran with."""

    name: str
    why: str
    changes: dict[str, str]  # set on top of the chart's environment; {} for shipped
    worker_class: str
    workers: int
    threads: int
    keepalive_s: int
    access_log: bool

    @property
    def keeps_alive(self) -> bool:
        return self.worker_class == "gthread" and self.keepalive_s > 0


def configuration(candidate: Candidate, chart_env: dict[str, str]) -> Configuration:
    settings: ServerSettings = server_settings({**chart_env, **candidate.changes})
    return Configuration(
        name=candidate.name,
        why=candidate.why,
        changes=dict(candidate.changes),
        worker_class=settings.worker_class,
        workers=settings.workers,
        threads=settings.threads,
        keepalive_s=settings.keepalive_s,
        access_log=settings.access_log,
    )


@dataclass(frozen=True)
class Round:
    """One measured load of one server on one path."""

    round: int  # 1-based
    order: int  # its place among all the run's loads, 1-based
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    seconds: float  # as wrk measured its own duration
    wrk_cpu_s: float  # wrk's user + system CPU seconds
    server_cpu_s: float  # the container's cgroup CPU seconds during the load
    engine_cpu_s: float  # dockerd's, containerd's and the container's shim's, during the load

    @property
    def requests(self) -> float:
        return self.requests_per_s * self.seconds


@dataclass(frozen=True)
class Pair:
    """Two loads of PAIR_SECONDS back to back: shipped, and the same without the access log."""

    path: str
    logged: float  # req/s of shipped
    unlogged: float  # req/s of UNLOGGED


@dataclass(frozen=True)
class Profile:
    """py-spy's samples of a Flask server's worker during one load of one path.

    Samples are of wall time, idle included, at PROFILE_RATE a second: a sample of the thread
    serving a request counts whether it runs, waits for the interpreter lock or for a system
    call, which is where the access log's cost hides.
    """

    configuration: str
    path: str
    requests: int  # answered during the profiled load
    serving: int  # samples of the thread serving a request, while it served one
    access_log: int  # of those, samples inside the access log's code
    writing: int  # of those, samples writing the line to the stream (WRITING_FRAMES)
    failure: str = ""

    def per_request_us(self, samples: int) -> float:
        return samples / PROFILE_RATE / self.requests * 1e6 if self.requests else 0.0


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
    """One configuration serving one app: every round, memory in MiB."""

    configuration: str
    app: str  # FLASK or BARE
    rounds: dict[str, list[Round]]  # by path, in round order; missing rounds: it failed
    idle: IdleMemory | None
    peak_rss_mib: float
    peak_working_set_mib: float
    oom_kills: int
    oom_killed: bool
    failure: str

    @property
    def name(self) -> str:
        return f"{self.configuration} ({self.app})"


@dataclass(frozen=True)
class Placement:
    """The cores the servers run on, and those of the bench itself and its load generator.

    At 0.2 CPU a gthread server settles, for a whole load, into one of a few latency modes
    (p50 near 6, 30 or 48 ms here), and a request's CPU cost follows the mode: left to the
    kernel on this 2-core machine, ten back-to-back pairs of 3 s loads cost 342-542 µs a
    request, 378-605 requests a second. With the server on one core and wrk on the other,
    the costliest mode did not come back in two such runs (278-378 µs, 541-743 requests a
    second), but it did with 16 idle servers waiting on the server core (317-530 µs): the
    access log's pairs therefore run once every other server is gone (`measure`).
    """

    server_cores: str  # docker's --cpuset-cpus for every server; "" when left to the kernel
    load_cores: tuple[int, ...]  # the bench's own and so wrk's and py-spy's; () when left

    def text(self) -> str:
        if not self.server_cores:
            return "servers and load left to the kernel's placement on the cores (`--unpinned`)"
        load = ", ".join(str(core) for core in self.load_cores)
        return (
            f"every server pinned to core {self.server_cores} (`--cpuset-cpus "
            f"{self.server_cores}`, its CPU quota unchanged), wrk and the bench to core {load}"
        )


def placement_on(cores: Sequence[int], *, pinned: bool = True) -> Placement:
    """The last of `cores` for the servers and the others for the load, when there are two or
    more and `pinned`; otherwise everything left to the kernel."""
    ordered = sorted(cores)
    if not pinned or len(ordered) < 2:
        return Placement("", ())
    return Placement(str(ordered[-1]), tuple(ordered[:-1]))


@dataclass(frozen=True)
class Record:
    """One `make bench` run as docs/benchmark.json keeps it: settings, machine and results."""

    format: int
    date: str
    machine: Machine
    engine: str
    load_generator: str
    seconds: int
    connections: int
    rounds: int
    warmup_s: int
    pod_flags: str
    cpus: float
    memory_request_mib: float
    chart_env: dict[str, str]
    paths: list[str]
    configurations: list[Configuration]
    servers: list[ServerResult]
    profiles: list[Profile]
    pairs: list[Pair]
    load_average_after: float = 0.0  # the 1-minute average when the loads ended
    placement: Placement = field(default_factory=lambda: Placement("", ()))


class RecordFormatError(ValueError):
    """A record this renderer cannot read: written by an older benchmark."""


def record_from_json(text: str) -> Record:
    data = json.loads(text)
    if data.get("format") != RECORD_FORMAT:
        raise RecordFormatError(
            f"a benchmark record of format {data.get('format', 1)}, not {RECORD_FORMAT}: it was "
            "written by an older benchmark (format 1: before issue 13's configuration matrix; "
            "2: before issue 24's engine CPU and profiles); measure again with `make bench`"
        )
    return Record(
        **{
            **data,
            "machine": Machine(**data["machine"]),
            "configurations": [Configuration(**c) for c in data["configurations"]],
            "servers": [_server_from_dict(server) for server in data["servers"]],
            "profiles": [Profile(**profile) for profile in data["profiles"]],
            "pairs": [Pair(**pair) for pair in data["pairs"]],
            "placement": Placement(
                data["placement"]["server_cores"], tuple(data["placement"]["load_cores"])
            ),
        }
    )


def _server_from_dict(data: dict[str, Any]) -> ServerResult:
    idle = data["idle"]
    return ServerResult(
        **{
            **data,
            "rounds": {
                path: [Round(**r) for r in rounds] for path, rounds in data["rounds"].items()
            },
            "idle": None if idle is None else IdleMemory(**idle),
        }
    )


# --- figures from a record ---


@dataclass(frozen=True)
class Spread:
    low: float
    median: float
    high: float

    def text(self, digits: int = 2) -> str:
        return f"{self.low:.{digits}f}-{self.high:.{digits}f}"


def spread(values: Sequence[float]) -> Spread | None:
    if not values:
        return None
    return Spread(min(values), statistics.median(values), max(values))


def rates(server: ServerResult, path: str) -> Spread | None:
    return spread([r.requests_per_s for r in server.rounds.get(path, [])])


@dataclass(frozen=True)
class Ratio:
    """`mine` over `other` on one path: of the medians, and the range of per-round ratios."""

    value: float
    per_round: Spread

    def text(self) -> str:
        return f"{self.value:.2f}x (rounds {self.per_round.text()})"


def ratio(mine: ServerResult, other: ServerResult, path: str) -> Ratio | None:
    """The ratio of the two servers' median rates, with the spread of same-round ratios."""
    a, b = rates(mine, path), rates(other, path)
    theirs = {r.round: r.requests_per_s for r in other.rounds.get(path, [])}
    same_round = [
        r.requests_per_s / theirs[r.round] for r in mine.rounds.get(path, []) if theirs.get(r.round)
    ]
    if a is None or b is None or not b.median or not same_round:
        return None
    return Ratio(a.median / b.median, spread(same_round))  # type: ignore[arg-type]


def _usable(server: ServerResult, path: str) -> bool:
    return rates(server, path) is not None and not server.failure


def fastest(
    record: Record, path: str, app: str, where: Callable[[Configuration], bool] = lambda c: True
) -> ServerResult | None:
    """The server of `app` with the highest median rate on `path` among `where`'s configurations."""
    by_name = {c.name: c for c in record.configurations}
    candidates = [
        s
        for s in record.servers
        if s.app == app and _usable(s, path) and where(by_name[s.configuration])
    ]
    return max(candidates, key=lambda s: rates(s, path).median, default=None)  # type: ignore[union-attr]


def find(record: Record, configuration: str, app: str) -> ServerResult | None:
    matches = [s for s in record.servers if (s.configuration, s.app) == (configuration, app)]
    return matches[0] if matches else None


def _verdict(found: Ratio, goal: float = GOAL_RATIO) -> str:
    """Met or not by the median rounds' ratio; whether every round agrees, when they do not."""
    if found.value >= goal:
        return "met" if found.per_round.low >= goal else "met (not in every round)"
    return "not met" if found.per_round.high < goal else "not met (met in some rounds)"


def _against(
    record: Record, mine: ServerResult | None, best: Callable[[str], ServerResult | None]
) -> list[str]:
    """Per path: "met/not met on `/`, 0.93x (rounds ...) of NAME"."""
    parts = []
    for path in record.paths:
        other = best(path)
        found = ratio(mine, other, path) if mine and other else None
        if found is None or other is None:
            parts.append(f"n/a on `{path}`")
            continue
        parts.append(f"{_verdict(found)} on `{path}`, {found.text()} of **{other.configuration}**")
    return parts


def goals(record: Record) -> list[str]:
    """The issue's goals, each with what this run reached: ratios of the same run only."""
    shipped = find(record, SHIPPED, FLASK)
    lines = [
        f"- Shipped at least {GOAL_RATIO}x the best configuration of the Flask app: "
        + "; ".join(_against(record, shipped, lambda p: fastest(record, p, FLASK)))
        + ".",
        "- Like for like, against the best Flask configuration with the access log on, as shipped: "
        + "; ".join(
            _against(record, shipped, lambda p: fastest(record, p, FLASK, lambda c: c.access_log))
        )
        + ".",
    ]
    for name, subject, other in COMPARISONS:
        row = find(record, name, FLASK)
        if shipped and row:
            parts = []
            for path in record.paths:
                found = ratio(shipped, row, path)
                parts.append(f"{found.text()} {other} on `{path}`" if found else f"n/a on `{path}`")
            lines.append(f"- {subject}: shipped answers " + "; ".join(parts) + ".")
    if record.pairs:
        lines.append(
            f"- The access log costs at most {1 - ACCESS_LOG_GOAL_RATIO:.0%}: shipped at least "
            f"{ACCESS_LOG_GOAL_RATIO}x of the same settings without it, as the median of "
            f"back-to-back pairs of {PAIR_SECONDS} s loads (the middle half of the pairs' "
            "ratios in brackets): "
            + "; ".join(_pairs_verdict(record, path) for path in record.paths)
            + "."
        )
    lines.append(
        "- Shipped's share of the true ceiling (the fastest framework-free configuration), aim "
        f"{GOAL_RATIO}x: " + "; ".join(_shares(record, shipped)) + "."
    )
    lines += _memory_goals(record, shipped)
    return lines


def pair_ratios(record: Record, path: str) -> list[float]:
    return [p.logged / p.unlogged for p in record.pairs if p.path == path and p.unlogged]


def _pairs_verdict(record: Record, path: str) -> str:
    ratios = pair_ratios(record, path)
    if not ratios:
        return f"n/a on `{path}`"
    median = statistics.median(ratios)
    quarter, _, three_quarters = (
        statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [median] * 3
    )
    met = "met" if median >= ACCESS_LOG_GOAL_RATIO else "not met"
    return (
        f"{met} on `{path}`, {median:.2f}x of {len(ratios)} pairs "
        f"({quarter:.2f}-{three_quarters:.2f})"
    )


def _shares(record: Record, shipped: ServerResult | None) -> list[str]:
    parts = []
    for path in record.paths:
        ceiling, best = fastest(record, path, BARE), fastest(record, path, FLASK)
        total = ratio(shipped, ceiling, path) if shipped and ceiling else None
        if total is None or ceiling is None:
            parts.append(f"n/a on `{path}`")
            continue
        text = f"{total.text()} of **{ceiling.configuration}** on `{path}`"
        flask = ratio(best, ceiling, path) if best else None
        settings = ratio(shipped, best, path) if best else None
        if total.value < GOAL_RATIO and flask and settings and best:
            text += (
                f" (Flask: the best Flask configuration, {best.configuration}, reaches "
                f"{flask.value:.2f}x of the ceiling; the settings: shipped reaches "
                f"{settings.value:.2f}x of it)"
            )
        parts.append(text)
    return parts


def _memory_goals(record: Record, shipped: ServerResult | None) -> list[str]:
    idle = shipped.idle if shipped else None
    goal_met = idle and idle.working_set_mib <= IDLE_WORKING_SET_GOAL_MIB
    over = [
        s.name
        for s in record.servers
        if s.idle and s.idle.working_set_mib >= record.memory_request_mib
    ]
    ws_met = "met" if idle and idle.working_set_mib < record.memory_request_mib else "not met"
    oom = [s.name for s in record.servers if s.oom_kills or s.oom_killed]
    return [
        f"- Idle working set under the {record.memory_request_mib:g} MiB memory request: "
        f"{ws_met}, shipped {_idle(shipped)}; "
        + (f"over it: {', '.join(over)}." if over else "every server stays under it."),
        f"- Idle working set at most {IDLE_WORKING_SET_GOAL_MIB} MiB (what the kubelet counts; "
        f"RSS counts the pages gunicorn's master shares with its worker twice): "
        f"{'met' if goal_met else 'not met'}, shipped {_idle(shipped)}.",
        "- Never OOM-killed: "
        + (f"OOM kills in {', '.join(oom)}." if oom else "no OOM kill in any server."),
    ]


def _mib(size: float | None) -> str:
    return "n/a" if not size else f"{size:.1f}"


def _idle(server: ServerResult | None) -> str:
    idle = server.idle if server else None
    return (
        f"{_mib(idle and idle.working_set_mib)} MiB working set "
        f"(RSS {_mib(idle and idle.rss_mib)}, PSS {_mib(idle and idle.pss_mib)})"
    )


def _keepalive(config: Configuration) -> str:
    if config.worker_class == "sync":
        return "none (sync)"
    return f"{config.keepalive_s} s" if config.keepalive_s else "off"


def configurations_table(record: Record) -> list[str]:
    rows = [
        "| configuration | worker class | workers | threads | keep-alive | access log "
        "| changed in the chart's environment | why |",
        "| --- | --- | ---: | ---: | --- | --- | --- | --- |",
    ]
    for c in record.configurations:
        changes = " ".join(f"`{k}={v}`" for k, v in c.changes.items()) or "nothing"
        rows.append(
            f"| {c.name} | {c.worker_class} | {c.workers} | {c.threads} | {_keepalive(c)} "
            f"| {'on' if c.access_log else 'off'} | {changes} | {c.why} |"
        )
    return rows


def _median_of(rounds: list[Round], value: Callable[[Round], float]) -> float:
    return statistics.median(value(r) for r in rounds)


def throughput_table(record: Record, path: str) -> list[str]:
    rows = [
        "| configuration | app | req/s | min-max | vs best Flask | vs ceiling | p50 ms | p99 ms "
        "| errors | wrk CPU | server CPU of its limit | server CPU µs/request "
        "| engine CPU µs/request |",
        "| --- | --- |" + " ---: |" * 11,
    ]
    ceiling, best = fastest(record, path, BARE), fastest(record, path, FLASK)
    for server in record.servers:
        rounds = server.rounds.get(path, [])
        found = rates(server, path)
        if found is None:
            rows.append(f"| {server.configuration} | {server.app} |" + " n/a |" * 11)
            continue
        to_best = ratio(server, best, path) if best and server.app == FLASK else None
        to_ceiling = ratio(server, ceiling, path) if ceiling else None
        wrk_cpu = _median_of(rounds, lambda r: r.wrk_cpu_s / r.seconds if r.seconds else 0)
        server_cpu = _median_of(
            rounds, lambda r: r.server_cpu_s / r.seconds / record.cpus if r.seconds else 0
        )
        rows.append(
            f"| {server.configuration} | {server.app} | {found.median:.0f} "
            f"| {found.low:.0f}-{found.high:.0f} "
            f"| {f'{to_best.value:.2f}' if to_best else ''} "
            f"| {f'{to_ceiling.value:.2f}' if to_ceiling else 'n/a'} "
            f"| {_median_of(rounds, lambda r: r.p50_ms):.1f} "
            f"| {_median_of(rounds, lambda r: r.p99_ms):.1f} "
            f"| {sum(r.errors for r in rounds)} | {wrk_cpu:.0%} | {server_cpu:.0%} "
            f"| {cpu_per_request_us(rounds, lambda r: r.server_cpu_s):.0f} "
            f"| {cpu_per_request_us(rounds, lambda r: r.engine_cpu_s):.0f} |"
        )
    return rows


def cpu_per_request_us(rounds: list[Round], cpu_s: Callable[[Round], float]) -> float:
    """The median round's CPU microseconds per answered request."""
    return _median_of(rounds, lambda r: cpu_s(r) / r.requests * 1e6 if r.requests else 0.0)


def _cpu_costs(record: Record, path: str) -> str:
    """What each access logger adds to the CPU a request costs, inside and outside the pod."""
    unlogged = find(record, UNLOGGED, FLASK)
    if unlogged is None or path not in unlogged.rounds:
        return f"n/a on `{path}`"

    def cost(server: ServerResult, cpu_s: Callable[[Round], float]) -> float:
        base = cpu_per_request_us(unlogged.rounds[path], cpu_s)
        return cpu_per_request_us(server.rounds[path], cpu_s) - base

    parts = []
    for name, label in ((SHIPPED, "the image's logger"), (GUNICORNS_LOGGER, "gunicorn's logger")):
        server = find(record, name, FLASK)
        if server and path in server.rounds:
            parts.append(
                f"{label} {cost(server, lambda r: r.server_cpu_s):+.0f} µs in the container and "
                f"{cost(server, lambda r: r.engine_cpu_s):+.0f} µs in the engine"
            )
    return f"on `{path}`, " + "; ".join(parts) if parts else f"n/a on `{path}`"


def profile_table(record: Record) -> list[str]:
    rows = [
        "| configuration | path | requests | serving µs/request | in the access log "
        "µs/request | of which writing it | share of serving | notes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for found in record.profiles:
        share = found.access_log / found.serving if found.serving else 0.0
        rows.append(
            f"| {found.configuration} | `{found.path}` | {found.requests} "
            f"| {found.per_request_us(found.serving):.0f} "
            f"| {found.per_request_us(found.access_log):.0f} "
            f"| {found.per_request_us(found.writing):.0f} | {share:.1%} | {found.failure} |"
        )
    return rows


def access_log_section(record: Record) -> list[str]:
    """Where the access log's time goes: CPU per request, and the worker's profile."""
    return [
        "## Where the access log's time goes",
        "",
        "Every server here is held at its CPU limit (the server CPU column above is about "
        "100%), so requests a second follow the CPU a request costs. Against the same settings "
        "without the access log, each logger adds this much CPU per request (the median "
        "rounds; the engine's CPU is dockerd, containerd and the container's shim, which reads "
        "the log pipe, and counts all their other work too): "
        + "; ".join(_cpu_costs(record, path) for path in record.paths)
        + ". So an access log's cost is CPU: in the worker, which with the log on reaches its "
        "limit after fewer requests, not time lost to the quota (every server here uses its "
        "whole limit either way); and in the engine, outside the pod's limit but on the "
        "node's cores.",
        "",
        f"py-spy ({PROFILE_RATE} samples a second, idle included) sampled the Flask worker of "
        f"each of these configurations during one more load of {record.seconds} s per path. "
        "Serving is the time the thread that serves requests spent on one, running or waiting "
        "(for a system call, or for the interpreter lock the poller thread holds); in the "
        "access log is the part of it inside the logger's `access` (gunicorn's, or the image's "
        "in app/accesslog.py) and what it calls; writing it, the part in the call that writes "
        "to the stream (logging's StreamHandler, or the image's batch).",
        "",
        *profile_table(record),
        "",
        "What the profiles show: a logger that writes each line on its own (gunicorn's) spends "
        "much of its time not building the line but in the `write` to the log pipe and after "
        "it. The write is a system call, so the serving thread lets go of the interpreter lock "
        "for it; gunicorn's poller thread, woken by the same request's traffic, can take the "
        "lock meanwhile, and the serving thread then waits to get it back. Each line so costs "
        "a lock hand-over (futex wake-ups and context switches, counted as the container's "
        "CPU) on top of the pipe write, which wakes the engine's reader: the shim reads each "
        "line on its own and dockerd's log driver stores each, which is the engine CPU above. "
        "The image's logger "
        "(app/accesslog.py) builds only the fields of the default format and writes whole "
        "lines in batches a pipe takes in one piece (PIPE_BUF, 4096 bytes on Linux), at most a "
        "second late "
        "(half a second after the first line of a batch, at the latest): one write, and one "
        "hand-over, for a batch instead of each line. Lines stay in order; every way a "
        "gunicorn worker stops by (SIGTERM, SIGINT, SIGQUIT, a timeout's SIGABRT, a reload) "
        "runs Python's exit handlers, which write the batch (tests/image/test_access_log.py "
        "kills the server to check); a SIGKILL loses at most the last half second.",
        "",
    ]


def memory_table(record: Record) -> list[str]:
    rows = [
        "| configuration | app | processes | idle RSS MiB | idle RSS per process MiB "
        "| idle PSS MiB | idle working set MiB | peak RSS MiB | peak working set MiB "
        "| OOM kills | notes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for server in record.servers:
        idle = server.idle
        per_process = " + ".join(_mib(rss) for rss in idle.rss_per_process_mib) if idle else ""
        rows.append(
            f"| {server.configuration} | {server.app} | {idle.processes if idle else 'n/a'} "
            f"| {_mib(idle and idle.rss_mib)} | {per_process or 'n/a'} "
            f"| {_mib(idle and idle.pss_mib)} "
            f"| {_mib(idle and idle.working_set_mib)} | {_mib(server.peak_rss_mib)} "
            f"| {_mib(server.peak_working_set_mib)} | {server.oom_kills} "
            f"| {server.failure or ('OOMKilled' if server.oom_killed else '')} |"
        )
    return rows


def report(record: Record) -> str:
    """docs/benchmark.md's text: a function of the record alone (no clock, machine or engine)."""
    m = record.machine
    rounds = (
        f"{record.rounds} rounds, interleaved (every server once per path each round, the "
        "order rotated from round to round), each row the median round and the range of all"
        if record.rounds > 1
        else "1 round"
    )
    lines = [
        "# Benchmark: server configurations inside the chart's limits",
        "",
        f"Generated by `make bench` (harness/bench/image.py) on {record.date} from the run's "
        "record, docs/benchmark.json (`python -m harness.bench.image --render "
        "docs/benchmark.json` renders this page again from it); do not edit by hand.",
        "",
        f"- Machine: {m.cores} cores{f' ({m.cpu})' if m.cpu else ''}, "
        f"{m.memory_gib:.1f} GiB RAM, Linux {m.kernel}; "
        f"load average {m.load_average:.1f} when the run started and "
        f"{record.load_average_after:.1f} when it ended (other work on the machine skews "
        "throughput and latency; the ratios below compare servers measured in the same rounds).",
        f"- Engine: {record.engine}; load: {record.load_generator}, 1 thread, "
        f"{record.connections} connections, {record.seconds} s per load after a "
        f"{record.warmup_s} s warm-up of its own; {rounds}; over loopback to a port published "
        f"on 127.0.0.1; {record.placement.text()}.",
        "- Every server runs in the app image with the chart's default pod settings: "
        f"`{record.pod_flags}`, and the chart's environment "
        + " ".join(f"`{k}={v}`" for k, v in record.chart_env.items())
        + " with the changes each configuration lists.",
        "",
        "## Against the goals",
        "",
        "Ratios are of the median rounds, followed by the range of the ratios of the same "
        "rounds. The best configuration is the fastest of several noisy medians, so it is "
        "somewhat flattered: a gap inside the per-round range is not a difference. Each "
        "server is started once and every round reuses it, so what differs from one start of "
        "a configuration to the next is not in these ranges: two runs of this matrix on the "
        "same code have differed by more (git keeps the records of earlier runs).",
        "",
        *goals(record),
        "",
        "## Configurations",
        "",
        f"Each configuration serves two apps with the image's own gunicorn.conf.py: **{FLASK}**, "
        f"the app itself, and **{BARE}**, harness/bench/ceiling/bare_wsgi.py: the same "
        "answers with no framework.",
        "",
        *configurations_table(record),
        "",
        "## Throughput and latency",
        "",
        "wrk CPU is the load generator's own CPU time over the load's duration (of one core); "
        f"server CPU is the container's CPU time over the same, as a share of its "
        f"{record.cpus:g}-core limit: well under 100% means the server waited rather than "
        "computed (or the machine gave it less than its limit).",
        "",
    ]
    for path in record.paths:
        lines += [f"### `{path}`", "", *throughput_table(record, path), ""]
    lines += access_log_section(record)
    lines += [
        "## Memory",
        "",
        "RSS adds up each process's resident pages, so pages the gunicorn master shares with "
        "its workers count once per process; PSS splits shared pages between the processes; "
        "the working set is the container's memory cgroup less inactive file cache, what the "
        "kubelet compares with requests and the limit. RSS per process lists gunicorn's master "
        "first, then its workers. Idle is measured after the first warm-up; "
        "peaks are sampled every 0.5 s under load. The image's file pages count against the "
        "container that read them first (here the build), so on a fresh node the first pod's "
        "working set is higher by up to the files it loads.",
        "",
        *memory_table(record),
        "",
        "## Keep-alive, slow clients and the rollout guarantees",
        "",
        "The sync worker gives each connection the whole process, from its first byte to its "
        "response, and closes it afterwards; gunicorn's documentation asks for a buffering "
        "proxy in front of it, and these pods take traffic on public IPs of their own. A "
        "gthread worker waits for a new connection's first bytes and for kept-alive "
        "connections' next requests in its poller, without holding a thread, so the chart "
        "ships gthread even where sync measures as fast. With sync, or gthread with "
        "`GUNICORN_KEEPALIVE=0`, each request pays a new connection (here through "
        "docker's port proxy; in a cluster through the Service), which the rows without "
        "keep-alive include. Keep-alive is also what the rollout guarantees are tested on: "
        "tests/image sends SIGTERM under load on persistent connections and requires every "
        "request answered, and tests/e2e require that a stopping gunicorn closes a kept-alive "
        'connection with "Connection: close". Without keep-alive those connections no '
        "longer exist (each request opens its own, and the Service stops sending new ones to "
        "a stopping pod), so shipping sync or no keep-alive changes what those tests exercise: "
        "they must be adapted, not dropped, and still pass, before such settings ship.",
        "",
    ]
    return "\n".join(lines)


# --- measuring ---


@dataclass
class Outcome:
    configuration: Configuration
    app: str
    container: Container | None = None
    idle: MemorySample | None = None
    rounds: dict[str, list[Round]] = field(default_factory=dict)
    peak_rss: int = 0
    peak_cgroup: int = 0
    oom_kills: int = 0
    oom_killed: bool = False
    failure: str = ""

    @property
    def name(self) -> str:
        return f"{self.configuration.name} ({self.app})"

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
        return ServerResult(
            configuration=self.configuration.name,
            app=self.app,
            rounds={path: list(rounds) for path, rounds in self.rounds.items()},
            idle=idle_mib,
            peak_rss_mib=self.peak_rss / MIB,
            peak_working_set_mib=self.peak_cgroup / MIB,
            oom_kills=self.oom_kills,
            oom_killed=self.oom_killed,
            failure=self.failure,
        )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def container_name(configuration: str, app: str) -> str:
    return f"dfa-bench-{_slug(configuration)}-{_slug(app)}"


def server_run_args(
    pod: PodSettings,
    image_ref: str,
    configuration: Configuration,
    app: str,
    placed: Placement = Placement("", ()),
) -> list[str]:
    """`docker run` arguments of one server: the chart's pod with the configuration's changes,
    on the cores `placed` gives the servers."""
    bare = app == BARE
    docker_run, *args = run_args(
        pod,
        image_ref,
        name=container_name(configuration.name, app),
        env={**pod.env, **configuration.changes},
        volumes=(f"{CEILING_DIR}:/srv/ceiling:ro",) if bare else (),
        command=CEILING_COMMAND if bare else (),
    )
    cores = ["--cpuset-cpus", placed.server_cores] if placed.server_cores else []
    return [docker_run, *cores, *args]


def _start(
    engine: Engine, image_ref: str, pod: PodSettings, outcome: Outcome, placed: Placement
) -> None:
    name = container_name(outcome.configuration.name, outcome.app)
    try:
        args = server_run_args(pod, image_ref, outcome.configuration, outcome.app, placed)
        outcome.container = start_container(engine, args, name)
        outcome.container.wait_healthy()
    except (ContainerError, CommandError) as error:
        outcome.failure = f"did not start: {str(error).splitlines()[0]}"


def _load(outcome: Outcome, path: str, timing: Timing, number: int, order: int) -> None:
    container = outcome.container
    if container is None or outcome.failure:
        return
    url = f"{container.url}{path}"
    try:
        wrk(url, seconds=timing.warmup_s, connections=timing.connections)
        cpu_before, engine_before = container.cpu_seconds(), container.engine_cpu_seconds()
        with MemoryMonitor(container) as monitor:
            result = wrk(url, seconds=timing.seconds, connections=timing.connections)
        server_cpu = container.cpu_seconds() - cpu_before
        engine_cpu = container.engine_cpu_seconds() - engine_before
    except (LoadError, CommandError, OSError) as error:
        outcome.failure = f"load failed: {str(error).splitlines()[0]}"
        return
    outcome.rounds.setdefault(path, []).append(
        Round(
            round=number,
            order=order,
            requests_per_s=result.requests_per_s,
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
            errors=result.errors,
            seconds=result.seconds,
            wrk_cpu_s=result.cpu_s,
            server_cpu_s=server_cpu,
            engine_cpu_s=engine_cpu,
        )
    )
    outcome.peak_rss = max(outcome.peak_rss, monitor.peak.rss)
    outcome.peak_cgroup = max(outcome.peak_cgroup, monitor.peak.cgroup)


def profile_counts(collapsed: str) -> tuple[int, int, int]:
    """(serving, in the access log, writing it): samples of py-spy's collapsed stacks
    ("a;b;c 12" lines, the innermost frame last)."""
    serving = access_log = writing = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if SERVING_FRAME not in stack:
            continue
        serving += int(count)
        if any(frame in stack for frame in ACCESS_LOG_FRAMES):
            access_log += int(count)
            innermost = stack.rsplit(";", 1)[-1]
            writing += int(count) if innermost.startswith(WRITING_FRAMES) else 0
    return serving, access_log, writing


def _profile(outcome: Outcome, path: str, timing: Timing) -> Profile:
    """Sample the worker with py-spy during a load of `path` (the load outlasts the sampling)."""
    container = outcome.container
    assert container is not None
    failed = Profile(outcome.configuration.name, path, 0, 0, 0, 0)
    worker = container.host_pids()[-1]  # gunicorn's master first, then its worker
    output = QUICK_OUTPUT.parent / f"profile-{_slug(outcome.configuration.name)}.txt"
    command = [str(PY_SPY), "record", "--pid", str(worker), "--duration", str(timing.seconds)]
    command += ["--rate", str(PROFILE_RATE), "--idle", "--format", "raw", "--output", str(output)]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    sampler = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        load = wrk(
            f"{container.url}{path}", seconds=timing.seconds + 2, connections=timing.connections
        )
    except LoadError as error:
        sampler.kill()
        return replace(failed, failure=f"load failed: {str(error).splitlines()[0]}")
    said, _ = sampler.communicate(timeout=30)
    if sampler.returncode != 0 or not output.exists():
        return replace(failed, failure=f"py-spy failed: {said.strip().splitlines()[-1:]}")
    serving, access_log, writing = profile_counts(output.read_text())
    return Profile(
        outcome.configuration.name,
        path,
        round(load.requests_per_s * timing.seconds),
        serving,
        access_log,
        writing,
    )


def _pairs(logged: Outcome, unlogged: Outcome, timing: Timing) -> list[Pair]:
    """Back-to-back loads of the two servers, the first of each pair alternating."""
    pairs = []
    for path in PATHS:
        for number in range(timing.pairs):
            two = [logged, unlogged] if number % 2 == 0 else [unlogged, logged]
            rates = {}
            for outcome in two:
                assert outcome.container is not None
                url = f"{outcome.container.url}{path}"
                found = wrk(url, seconds=PAIR_SECONDS, connections=timing.connections)
                rates[outcome.configuration.name] = found.requests_per_s
            name, other = logged.configuration.name, unlogged.configuration.name
            pairs.append(Pair(path, rates[name], rates[other]))
    return pairs


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
    configurations: Sequence[Configuration],
    timing: Timing,
    placed: Placement,
) -> tuple[list[Outcome], list[Profile], list[Pair]]:
    outcomes = [Outcome(c, app) for c in configurations for app in APPS]
    try:
        for outcome in outcomes:
            _start(engine, image_ref, pod, outcome, placed)
            if outcome.container is None or outcome.failure:
                print(f"{outcome.name}: {outcome.failure}", flush=True)
                continue
            # Idle means after a warm-up: a worker imports parts of Flask on its first requests.
            url = f"{outcome.container.url}/"
            try:
                wrk(url, seconds=timing.warmup_s, connections=timing.connections)
            except LoadError as error:
                outcome.failure = f"warm-up failed: {str(error).splitlines()[0]}"
                continue
            outcome.idle = outcome.container.memory()
        plan = schedule(len(outcomes), PATHS, timing.rounds)
        total = sum(len(loads) for loads in plan)
        started, order = time.monotonic(), 0
        for number, loads in enumerate(plan, start=1):
            for index, path in loads:
                order += 1
                outcome = outcomes[index]
                _load(outcome, path, timing, number, order)
                done = outcome.rounds.get(path, [])
                rate = f"{done[-1].requests_per_s:.0f} req/s" if done else outcome.failure
                left = (time.monotonic() - started) / order * (total - order)
                print(
                    f"[{order}/{total}, {left / 60:.1f} min left] round {number} {path} "
                    f"{outcome.name}: {rate}",
                    flush=True,
                )
        profiles = [
            _profile(outcome, path, timing)
            for outcome in outcomes
            if outcome.configuration.name in PROFILED and outcome.app == FLASK
            if outcome.container is not None and not outcome.failure
            for path in PATHS
        ]
        for found in profiles:
            print(f"profiled {found.configuration} {found.path}: {found.failure or 'done'}")
        by_name = {o.configuration.name: o for o in outcomes if o.app == FLASK}
        logged, unlogged = by_name.get(SHIPPED), by_name.get(UNLOGGED)
        # Idle servers on the server core add noise (Placement): only the pair stays.
        for outcome in outcomes:
            if outcome is not logged and outcome is not unlogged:
                _finish(outcome)
        pairs: list[Pair] = []
        if logged and unlogged and not (logged.failure or unlogged.failure):
            try:
                pairs = _pairs(logged, unlogged, timing)
            except LoadError as error:
                print(f"the access log's pairs failed: {str(error).splitlines()[0]}", flush=True)
            print(f"{len(pairs)} pairs of loads with and without the access log", flush=True)
        for outcome in (logged, unlogged):
            if outcome is not None:
                _finish(outcome)
    finally:
        for outcome in outcomes:
            if outcome.container is not None:
                outcome.container.remove()
    return outcomes, profiles, pairs


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


def _load_generator() -> str:
    return run(["wrk", "--version"], check=False).stdout.split("[")[0].strip()


def select(names: Sequence[str] | None) -> list[Candidate]:
    """The candidates named, in the matrix's order; all of them for None."""
    if not names:
        return list(CANDIDATES)
    known = {c.name: c for c in CANDIDATES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"no configuration named {unknown}; known: {list(known)}")
    return [c for c in CANDIDATES if c.name in names]


def _run(
    engine: Engine, candidates: Sequence[Candidate], timing: Timing, *, pinned: bool
) -> Record:
    machine = this_machine()  # before the load: the load average says what else was running
    pod = chart_pod_settings()
    configurations = [configuration(c, dict(pod.env)) for c in candidates]
    image_ref = up(engine)
    placed = placement_on(sorted(os.sched_getaffinity(0)), pinned=pinned)
    print(f"placement: {placed.text()}", flush=True)
    if placed.load_cores:
        os.sched_setaffinity(0, placed.load_cores)  # wrk and py-spy, started from here, too
    outcomes, profiles, pairs = measure(engine, image_ref, pod, configurations, timing, placed)
    return Record(
        format=RECORD_FORMAT,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine,
        engine=f"Docker {engine.server_version()}",
        load_generator=_load_generator(),
        seconds=timing.seconds,
        connections=timing.connections,
        rounds=timing.rounds,
        warmup_s=timing.warmup_s,
        pod_flags=pod_flags(pod),
        cpus=pod.cpus,
        memory_request_mib=pod.memory_request_bytes / MIB,
        chart_env=dict(pod.env),
        paths=list(PATHS),
        configurations=configurations,
        servers=[outcome.result() for outcome in outcomes],
        profiles=profiles,
        pairs=pairs,
        load_average_after=os.getloadavg()[0],
        placement=placed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench.image", description=__doc__)
    parser.add_argument(
        "--seconds", type=int, help=f"load per row (default {DEFAULT_TIMING.seconds})"
    )
    parser.add_argument("--warmup", type=int, help="warm-up before each load")
    parser.add_argument("--connections", type=int)
    parser.add_argument("--rounds", type=int, help="report the median of N interleaved rounds")
    parser.add_argument(
        "--pairs",
        type=int,
        help=f"pairs of {PAIR_SECONDS} s loads per path, with and without the access log "
        f"(default {DEFAULT_TIMING.pairs})",
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="measure only this configuration"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: {', '.join(QUICK)}, one short round; written to {QUICK_OUTPUT}",
    )
    parser.add_argument(
        "--unpinned",
        action="store_true",
        help="leave the servers and the load to the kernel's placement on the cores "
        "(by default the servers get the last core and the load the others)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the matrix and its duration, and stop"
    )
    records.add_output_arguments(parser, "--output", None, needs="Docker, no wrk")
    args = parser.parse_args(argv)
    if args.render:
        print(f"written to {records.render_next_to(args.render, record_from_json, report)}")
        return 0
    base = QUICK_TIMING if args.quick else DEFAULT_TIMING
    timing = Timing(
        seconds=args.seconds or base.seconds,
        warmup_s=args.warmup if args.warmup is not None else base.warmup_s,
        rounds=args.rounds or base.rounds,
        connections=args.connections or base.connections,
        pairs=args.pairs if args.pairs is not None else base.pairs,
    )
    try:
        candidates = select(args.only or (QUICK if args.quick else None))
    except ValueError as error:
        parser.error(str(error))
    output = args.output or (QUICK_OUTPUT if args.quick else OUTPUT)
    print(plan_text(candidates, timing), flush=True)
    if args.dry_run:
        return 0
    engine = Engine()
    started = not engine.is_running()
    try:
        record = _run(engine, candidates, timing, pinned=not args.unpinned)
    except (EngineError, BaseImageError, ContainerError, CommandError, LoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if started:
            engine.stop()
    recorded = records.write(output, record, record_from_json, report)
    print(output.read_text())
    print(f"written to {output} and {recorded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
