"""How fast the harness renders the chart, next to helm-unittest, on the same value sets.

    python -m harness.bench.render [--cases 200] [--rounds 5] [--seed 12] [--output PAGE]
    python -m harness.bench.render --render docs/harness-benchmark.json

One run measures, on the same generated value sets (`value_sets`: both kinds, ipool on and
off, Deployment and StatefulSet strategies, pool sizes, replica counts, autoscaling and
overrides such as resources, image tags and labels; a fixed seed, every set one the chart
renders), each of:

- helm-unittest: the sets written as one helm-unittest suite, one test per set, each
  rendering the workload template with the set as its values file and asserting its kind;
  `helm-unittest` is run once on a copy of the chart, and its wall time (process start, chart
  load and the suite included) is divided by the number of sets;
- helm-unittest, whole chart: the same, with every template of the chart rendered, as
  `render()` does;
- the old path: `render()` with ``DFA_RENDERER=helm``, one `helm template` process per set;
- the new path: `render()` with ``DFA_RENDERER`` unset, which uses the persistent renderer
  when it is installed.

Each render path runs in a fresh Python process (so neither render()'s cache nor a renderer
started earlier serves a set twice) and is timed from just before its first `render()` call
to just after its last: a persistent renderer's start counts, once, like helm-unittest's.
The approaches take turns within a round, in an order that rotates from round to round, so
background load on the machine hits them alike; the page reports the median round and the
spread of the rounds. The run is recorded as JSON next to the page, and the page
(docs/harness-benchmark.md) is rendered from that record alone: `--render` renders it again
without measuring.

helm-unittest is not part of `make setup`: `python -m harness.toolchain.helm_unittest
install` builds it (the benchmark's make target runs that first).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from harness.chart import render as rendering
from harness.core import records
from harness.core.proc import CommandError, run
from harness.core.records import Machine, this_machine
from harness.core.templates import render_template
from harness.core.tools import ROOT, ToolError, tool_path

OUTPUT = ROOT / "docs" / "harness-benchmark.md"
TEMPLATES = Path(__file__).parent / "templates"
SEED = 12
CASES = 200
ROUNDS = 5
WARMUP_CASES = 10
GOAL_RATIO = 0.5  # the new path at most half of helm-unittest's time per case
# The variable that picks render()'s path; "helm" forces one `helm template` per call.
RENDERER_ENV = rendering.RENDERER_ENV
OLD_PATH_SETTING = "helm"
HELM_UNITTEST_INSTALL = "python -m harness.toolchain.helm_unittest install"
RUN_TIMEOUT_S = 1800.0

HELM_UNITTEST = "helm-unittest"
HELM_UNITTEST_CHART = "helm-unittest, whole chart"
OLD_PATH = "old path"
NEW_PATH = "new path"
WORKLOAD_TEMPLATE = "templates/workload.yaml"


# --- the value sets ---


def _pods(value: int | str, replicas: int, *, round_up: bool) -> int:
    """A maxSurge or maxUnavailable as pods, rounded as the Deployment controller does."""
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * replicas
        return math.ceil(scaled / 100) if round_up else scaled // 100
    return int(value)


def deployment_peak_pods(most_pods: int, strategy: dict[str, Any]) -> int:
    """The most pods a Deployment's rollout runs with an explicit `strategy` (the chart's
    arithmetic: Kubernetes' 25% surge when none is given, none for Recreate)."""
    if strategy.get("type") == "Recreate" or most_pods == 0:
        return most_pods
    surge = strategy.get("rollingUpdate", {}).get("maxSurge", "25%")
    return most_pods + _pods(surge, most_pods, round_up=True)


def _deployment_strategy(rng: random.Random) -> dict[str, Any]:
    """{} (the chart's or Kubernetes' default), Recreate, or rolling limits in pods or %."""
    shape = rng.choice(["default", "default", "recreate", "pods", "percent", "surge only"])
    if shape == "default":
        return {}
    if shape == "recreate":
        return {"type": "Recreate"}
    if shape == "surge only":
        return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": rng.choice([0, 1, 2])}}
    if shape == "pods":
        surge, unavailable = rng.choice([(0, 1), (1, 0), (1, 1), (2, 0), (2, 1), (0, 2)])
    else:
        surge, unavailable = rng.choice(
            [("25%", "25%"), ("50%", "0%"), ("0%", "34%"), ("10%", "0%"), ("100%", "0%")]
        )
    return {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
    }


def _statefulset_strategy(rng: random.Random, replicas: int) -> dict[str, Any]:
    shape = rng.choice(["default", "default", "partition", "max unavailable", "on delete"])
    if shape == "default":
        return {}
    if shape == "on delete":
        return {"updateStrategy": {"type": "OnDelete"}}
    rolling: dict[str, Any] = (
        {"partition": rng.randint(0, replicas)}
        if shape == "partition"
        else {"maxUnavailable": rng.choice([1, 2, "50%"])}
    )
    return {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}


def _overrides(rng: random.Random, index: int) -> dict[str, Any]:
    """Overrides an operator sets besides the shape of the rollout; each one sometimes."""
    values: dict[str, Any] = {}
    if rng.random() < 0.5:
        cpu, memory = rng.choice([("50m", "64Mi"), ("100m", "128Mi"), ("250m", "256Mi")])
        values["resources"] = {
            "requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": rng.choice(["250m", "500m", "1"]), "memory": memory},
        }
    if rng.random() < 0.5:
        values["image"] = {"tag": rng.choice(["1.0.0", "1.5.0", "2.0.0-rc.1", "latest", "7"])}
    if rng.random() < 0.4:
        values["commonLabels"] = {"team": rng.choice(["oe-tools", "edge", "payments"])}
    if rng.random() < 0.4:
        values["podLabels"] = {
            "tier": rng.choice(["web", "api"]),
            "example.com/case": f"case-{index:03d}",
        }
    if rng.random() < 0.3:
        values["podAnnotations"] = {"example.com/note": f"value set {index}"}
    if rng.random() < 0.2:
        values["nameOverride"] = rng.choice(["web", "flask"])
    if rng.random() < 0.3:
        values["gunicorn"] = {"workers": rng.randint(1, 3), "threads": rng.choice([1, 2, 4, 8])}
    if rng.random() < 0.3:
        values["preStopSleepSeconds"] = rng.choice([0, 2, 5, 9])
    if rng.random() < 0.2:
        values["minReadySeconds"] = rng.choice([0, 5, 10])
    if rng.random() < 0.2:
        values["service"] = {"type": rng.choice(["ClusterIP", "NodePort"]), "port": 8080}
    if rng.random() < 0.2:
        values["podDisruptionBudget"] = {"enabled": False}
    if rng.random() < 0.15:
        values["tests"] = {"enabled": False}
    if rng.random() < 0.2:
        values["topologySpreadConstraints"] = []
    return values


def _value_set(rng: random.Random, index: int) -> dict[str, Any]:
    """One value set; the kind and ipool take turns so that every pairing is as common."""
    kind = rendering.WORKLOAD_KINDS[index % 2]
    ipool = (index // 2) % 2 == 1
    values: dict[str, Any] = {"workload": {"kind": kind}}
    replicas = rng.randint(1, 8)
    values["replicaCount"] = replicas
    most_pods = replicas
    if rng.random() < 0.2:
        low = rng.randint(1, 3)
        most_pods = rng.randint(low, 8)
        values["autoscaling"] = {"enabled": True, "minReplicas": low, "maxReplicas": most_pods}
    if kind == "Deployment":
        strategy = _deployment_strategy(rng)
        if strategy:
            values["strategy"] = strategy
        # An explicit strategy must fit the pool; with none, the chart picks one that fits.
        needed = deployment_peak_pods(most_pods, strategy) if strategy else most_pods
    else:
        values.update(_statefulset_strategy(rng, replicas))
        if rng.random() < 0.3:
            values["podManagementPolicy"] = "Parallel"
        needed = most_pods
    if ipool:
        spare = rng.choice([0, 0, 1, 2])
        size = None if needed == most_pods and rng.random() < 0.3 else needed + spare
        values["ipool"] = {"enabled": True, "size": size}
        if rng.random() < 0.3:
            values["ipool"]["name"] = "edge-pool"
        if rng.random() < 0.2:
            values["networkPolicy"] = {
                "enabled": True,
                "externalCIDRs": rng.choice([[], ["0.0.0.0/0"], ["203.0.113.0/24"]]),
            }
    elif rng.random() < 0.2:
        values["networkPolicy"] = {"enabled": True}
    values.update(_overrides(rng, index))
    return values


def value_sets(count: int = CASES, seed: int = SEED) -> list[dict[str, Any]]:
    """`count` distinct value sets, the same for the same seed, each one the chart renders."""
    rng = random.Random(seed)
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(found) < count:
        values = _value_set(rng, len(found))
        key = json.dumps(values, sort_keys=True)
        if key not in seen:
            seen.add(key)
            found.append(values)
    return found


def workload_kind(values: dict[str, Any]) -> str:
    return str(values["workload"]["kind"])


def fingerprint(sets: Sequence[dict[str, Any]]) -> str:
    """A short hash of the value sets, so two runs can be seen to have measured the same."""
    text = json.dumps(list(sets), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- helm-unittest ---


def helm_unittest_suite(sets: Sequence[dict[str, Any]], *, whole_chart: bool) -> dict[str, Any]:
    """One helm-unittest suite: a test per value set, its values file `values/case-NNN.yaml`
    (relative to the suite), asserting the workload's kind; the release is render()'s."""
    suite: dict[str, Any] = {
        "suite": "harness benchmark, " + ("whole chart" if whole_chart else "workload"),
        "release": {"name": rendering.DEFAULT_RELEASE, "namespace": rendering.DEFAULT_NAMESPACE},
    }
    if not whole_chart:
        suite["templates"] = [WORKLOAD_TEMPLATE]
    tests = []
    for index, values in enumerate(sets):
        assertion: dict[str, Any] = {"isKind": {"of": workload_kind(values)}}
        if whole_chart:
            # Every template renders; only the workload's document is asserted on.
            assertion["template"] = WORKLOAD_TEMPLATE
        tests.append(
            {
                "it": f"renders value set {index:03d} as a {workload_kind(values)}",
                "values": [f"values/case-{index:03d}.yaml"],
                "asserts": [assertion],
            }
        )
    suite["tests"] = tests
    return suite


@dataclass(frozen=True)
class Workspace:
    """A scratch folder: a copy of the chart, the value sets as files and the suites."""

    chart: Path
    suites: dict[str, Path]  # approach -> suite file
    cases: Path  # the value sets as JSON, for the render paths' worker


def prepare(scratch: Path, sets: Sequence[dict[str, Any]]) -> Workspace:
    chart = scratch / rendering.CHART_DIR.name
    shutil.copytree(rendering.CHART_DIR, chart)
    values_dir = scratch / "suites" / "values"
    values_dir.mkdir(parents=True)
    for index, values in enumerate(sets):
        text = yaml.safe_dump(values, sort_keys=False)
        (values_dir / f"case-{index:03d}.yaml").write_text(text)
    suites = {}
    for name, whole in ((HELM_UNITTEST, False), (HELM_UNITTEST_CHART, True)):
        path = scratch / "suites" / ("chart_test.yaml" if whole else "workload_test.yaml")
        path.write_text(yaml.safe_dump(helm_unittest_suite(sets, whole_chart=whole)))
        suites[name] = path
    cases = scratch / "cases.json"
    cases.write_text(json.dumps(list(sets)))
    return Workspace(chart, suites, cases)


def helm_unittest_binary() -> Path:
    try:
        return tool_path("helm-unittest")
    except ToolError:
        message = f"helm-unittest is not installed in .tools; run `{HELM_UNITTEST_INSTALL}`"
        raise ToolError(message) from None


def run_helm_unittest(binary: Path, chart: Path, suite: Path, expected: int) -> float:
    """Run one suite; its wall time in seconds. Fails unless all `expected` tests passed."""
    start = time.perf_counter()
    done = run([binary, "--file", suite, chart], check=False, timeout=RUN_TIMEOUT_S)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or _tally(done.stdout) != f"{expected} passed, {expected} total":
        raise CommandError(done.args, done.returncode, done.stdout, done.stderr, "tests failed")
    return elapsed


def _tally(stdout: str) -> str | None:
    """helm-unittest's closing count (`3 failed, 1 passed, 4 total`), or None."""
    found = re.search(r"^Tests:\s+(.*)$", stdout, re.MULTILINE)
    return found.group(1) if found else None


# --- the render paths, each in a process of its own ---


def render_path_env(path: str) -> dict[str, str]:
    """The environment a render path's worker runs in: the old path forces `helm template`."""
    env = {k: v for k, v in os.environ.items() if k != RENDERER_ENV}
    if path == OLD_PATH:
        env[RENDERER_ENV] = OLD_PATH_SETTING
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def render_cases(sets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Render every set through render(), timed; checked like helm-unittest's isKind."""
    calls = []
    start = time.perf_counter()
    for values in sets:
        before = time.perf_counter()
        manifests = rendering.render(values)
        calls.append(time.perf_counter() - before)
        if manifests.workload["kind"] != workload_kind(values):
            raise AssertionError(f"{values} rendered a {manifests.workload['kind']}")
    total = time.perf_counter() - start
    return {"total_s": total, "calls_s": calls, "renderer": rendering.renderer_description()}


def run_render_path(path: str, cases: Path) -> dict[str, Any]:
    """Render the sets in `cases` through render() in a fresh process set up for `path`."""
    command = [sys.executable, "-m", "harness.bench.render", "--worker", cases]
    done = run(command, env=render_path_env(path), cwd=ROOT, timeout=RUN_TIMEOUT_S)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the record ---


@dataclass(frozen=True)
class Approach:
    """One approach's figures, one per round, in ms per value set."""

    name: str
    includes: str  # what its time per set includes, as the page says it
    ms_per_case: list[float]
    # Render paths: their first render() call per round (a persistent renderer's start) and
    # the median call of the round.
    first_call_ms: list[float] = field(default_factory=list)
    median_call_ms: list[float] = field(default_factory=list)
    renderer: str = ""


@dataclass(frozen=True)
class Record:
    """One run as docs/harness-benchmark.json keeps it."""

    date: str
    machine: Machine
    python: str
    helm: str
    helm_unittest: str
    chart: str  # the chart's version and the commit it was measured at
    seed: int
    cases: int
    value_sets: str  # fingerprint() of the sets
    coverage: dict[str, int]  # how many sets of each kind of case
    rounds: int
    warmup_cases: int
    renderer_env: str
    duration_s: float
    load_average_after: float  # the 1-minute average when the run ended
    approaches: list[Approach]


def record_from_json(text: str) -> Record:
    data = json.loads(text)
    return Record(
        **{
            **data,
            "machine": Machine(**data["machine"]),
            "approaches": [Approach(**a) for a in data["approaches"]],
        }
    )


def coverage(sets: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many sets have each trait the page lists (a set counts under every trait it has)."""

    def has(values: dict[str, Any], trait: str) -> bool:
        kind, ipool = workload_kind(values), values.get("ipool", {})
        return {
            "Deployment": kind == "Deployment",
            "StatefulSet": kind == "StatefulSet",
            "ipool on": bool(ipool.get("enabled")),
            "ipool off": not ipool.get("enabled"),
            "explicit pool size": ipool.get("size") is not None,
            "Deployment strategy set": "strategy" in values,
            "StatefulSet updateStrategy set": "updateStrategy" in values,
            "autoscaling": "autoscaling" in values,
            "resources": "resources" in values,
            "image tag": "image" in values,
            "labels": "podLabels" in values or "commonLabels" in values,
            "network policy": "networkPolicy" in values,
        }[trait]

    traits = [
        "Deployment",
        "StatefulSet",
        "ipool on",
        "ipool off",
        "explicit pool size",
        "Deployment strategy set",
        "StatefulSet updateStrategy set",
        "autoscaling",
        "resources",
        "image tag",
        "labels",
        "network policy",
    ]
    return {trait: sum(has(values, trait) for values in sets) for trait in traits}


# --- the page ---


@dataclass(frozen=True)
class Row:
    name: str
    includes: str
    median: float
    low: float
    high: float
    vs_helm_unittest: float | None
    renderer: str
    first_call_ms: float | None
    median_call_ms: float | None


def _median(figures: Sequence[float]) -> float | None:
    return statistics.median(figures) if figures else None


def rows(record: Record) -> list[Row]:
    base = _median(approach(record, HELM_UNITTEST).ms_per_case)
    found = []
    for a in record.approaches:
        median = statistics.median(a.ms_per_case)
        found.append(
            Row(
                name=a.name,
                includes=a.includes,
                median=median,
                low=min(a.ms_per_case),
                high=max(a.ms_per_case),
                vs_helm_unittest=median / base if base else None,
                renderer=a.renderer,
                first_call_ms=_median(a.first_call_ms),
                median_call_ms=_median(a.median_call_ms),
            )
        )
    return found


def approach(record: Record, name: str) -> Approach:
    [found] = [a for a in record.approaches if a.name == name]
    return found


@dataclass(frozen=True)
class Verdict:
    met: bool
    ratio: float  # the new path's median over helm-unittest's, same run
    rounds_met: int  # rounds in which the new path alone was within the goal


def verdict(record: Record) -> Verdict:
    """The goal, from the run's own figures: the new path's median ms per case at most
    GOAL_RATIO times helm-unittest's (each the median of the same run's rounds)."""
    new, base = approach(record, NEW_PATH), approach(record, HELM_UNITTEST)
    ratio = statistics.median(new.ms_per_case) / statistics.median(base.ms_per_case)
    rounds_met = sum(
        mine <= GOAL_RATIO * theirs
        for mine, theirs in zip(new.ms_per_case, base.ms_per_case, strict=True)
    )
    return Verdict(ratio <= GOAL_RATIO, ratio, rounds_met)


def render_doc(record: Record) -> str:
    """docs/harness-benchmark.md: a function of the record alone."""
    found = rows(record)
    [base] = [row for row in found if row.name == HELM_UNITTEST]
    [new] = [row for row in found if row.name == NEW_PATH]
    [old] = [row for row in found if row.name == OLD_PATH]
    return render_template(
        TEMPLATES,
        "harness-benchmark.md.j2",
        run=record,
        rows=found,
        base=base,
        new=new,
        old=old,
        verdict=verdict(record),
        goal=GOAL_RATIO,
    )


# --- measuring ---


def _helm_version() -> str:
    done = run([tool_path("helm"), "version", "--template", "{{.Version}}"], check=False)
    return done.stdout.strip() or "unknown"


def helm_unittest_version(binary: Path) -> str:
    """helm-unittest's release and the Helm library it renders with, from its build info."""
    go = shutil.which("go")
    if go is None:
        return "unknown (no `go` to read its build info)"
    info = run([go, "version", "-m", binary], check=False).stdout
    stamped = re.search(r"/internal/build\.version=([^\s\"']+)", info)
    helm = re.search(r"^\s*dep\s+helm\.sh/helm/v3\s+(\S+)", info, re.MULTILINE)
    version = f"v{stamped.group(1).removeprefix('v')}" if stamped else "unknown"
    return f"{version} (Helm {helm.group(1) if helm else 'unknown'} library, in-process)"


INCLUDES = {
    HELM_UNITTEST: (
        "one `helm-unittest` run over a suite of all the sets, wall time divided by the number "
        "of sets: its process start, chart load and suite parsing (once), then per set the "
        "values file read, the schema check, the render of `templates/workload.yaml` (and the "
        "helpers) and one `isKind` assertion"
    ),
    HELM_UNITTEST_CHART: (
        "the same with no `templates:` in the suite, so every template of the chart renders "
        "per set, as `render()` does; the assertion is on the workload's document"
    ),
    OLD_PATH: (
        f"`render(values)` with `{RENDERER_ENV}={OLD_PATH_SETTING}`, timed in a fresh Python "
        "process from just before the first call to just after the last, divided by the "
        "number of sets: per set a values file written, one `helm template` process over the "
        "whole chart, its YAML parsed, the workload's kind checked"
    ),
    NEW_PATH: (
        f"`render(values)` with `{RENDERER_ENV}` unset, timed the same way: the persistent "
        "renderer's start and chart load (when it is installed) fall in the first call and "
        "count once; per set the whole chart rendered and parsed, the workload's kind checked"
    ),
}


def measure(
    binary: Path, workspace: Workspace, sets: Sequence[dict[str, Any]], rounds: int
) -> list[Approach]:
    names = [HELM_UNITTEST, HELM_UNITTEST_CHART, OLD_PATH, NEW_PATH]
    per_case: dict[str, list[float]] = {name: [] for name in names}
    first: dict[str, list[float]] = {OLD_PATH: [], NEW_PATH: []}
    median_call: dict[str, list[float]] = {OLD_PATH: [], NEW_PATH: []}
    renderer: dict[str, str] = {}
    for number in range(rounds):
        order = names[number % len(names) :] + names[: number % len(names)]
        for name in order:
            print(f"round {number + 1}/{rounds}: {name} ...", end=" ", flush=True)
            if name in workspace.suites:
                seconds = run_helm_unittest(
                    binary, workspace.chart, workspace.suites[name], len(sets)
                )
            else:
                result = run_render_path(name, workspace.cases)
                seconds = result["total_s"]
                first[name].append(result["calls_s"][0] * 1000)
                median_call[name].append(statistics.median(result["calls_s"]) * 1000)
                renderer[name] = result["renderer"]
            per_case[name].append(seconds * 1000 / len(sets))
            print(f"{per_case[name][-1]:.1f} ms per set", flush=True)
    return [
        Approach(
            name,
            INCLUDES[name],
            per_case[name],
            first.get(name, []),
            median_call.get(name, []),
            renderer.get(name, "helm-unittest's own, Helm 3 library in-process"),
        )
        for name in names
    ]


def check_suites_can_fail(binary: Path, workspace: Workspace) -> None:
    """The suites' passing means something: the same suite asserting each StatefulSet to be a
    Deployment must fail, or the benchmark stops (ToolError) before it measures anything."""
    suite = workspace.suites[HELM_UNITTEST]
    false = suite.with_name(f"false_{suite.name}")
    false.write_text(suite.read_text().replace("of: StatefulSet", "of: Deployment"))
    done = run([binary, "--file", false, workspace.chart], check=False, timeout=RUN_TIMEOUT_S)
    failed = re.match(r"(\d+) failed", _tally(done.stdout) or "")
    if not failed or int(failed.group(1)) == 0:
        raise ToolError(
            f"helm-unittest did not fail {false}, whose assertions are false:\n{done.stdout}"
        )


def warm_up(binary: Path, scratch: Path, sets: Sequence[dict[str, Any]]) -> None:
    """Each approach once on a few sets, not recorded: files in the page cache, binaries
    loaded, Python's bytecode compiled."""
    workspace = prepare(scratch / "warm-up", sets)
    for name, suite in workspace.suites.items():
        print(f"warm-up: {name}", flush=True)
        run_helm_unittest(binary, workspace.chart, suite, len(sets))
    check_suites_can_fail(binary, workspace)
    for name in (OLD_PATH, NEW_PATH):
        print(f"warm-up: {name}", flush=True)
        run_render_path(name, workspace.cases)


def chart_digest() -> str:
    """A hash of every file of the chart, to notice a chart edited while the run measured."""
    digest = hashlib.sha256()
    for path in sorted(p for p in rendering.CHART_DIR.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(rendering.CHART_DIR)}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def benchmark(args: argparse.Namespace) -> Record:
    started = time.monotonic()
    machine = this_machine()  # before the load: the load average says what else was running
    binary = helm_unittest_binary()
    sets = value_sets(args.cases, args.seed)
    # helm-unittest renders a copy of the chart, render() the chart itself: an edit during
    # the run would have them measure different charts.
    chart, before = records.chart_state(rendering.CHART_DIR), chart_digest()
    with tempfile.TemporaryDirectory(prefix="harness-benchmark-") as scratch:
        warm_up(binary, Path(scratch), sets[: args.warmup_cases])
        workspace = prepare(Path(scratch) / "run", sets)
        approaches = measure(binary, workspace, sets, args.rounds)
    if chart_digest() != before:
        raise ToolError(f"{rendering.CHART_DIR} changed during the run; run it again")
    return Record(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine,
        python=platform.python_version(),
        helm=_helm_version(),
        helm_unittest=helm_unittest_version(binary),
        chart=chart,
        seed=args.seed,
        cases=len(sets),
        value_sets=fingerprint(sets),
        coverage=coverage(sets),
        rounds=args.rounds,
        warmup_cases=args.warmup_cases,
        renderer_env=RENDERER_ENV,
        duration_s=time.monotonic() - started,
        load_average_after=os.getloadavg()[0],
        approaches=approaches,
    )


def _worker(cases: Path) -> int:
    """Render the sets in `cases` through render(); one JSON line of timings on stdout."""
    print(json.dumps(render_cases(json.loads(cases.read_text()))))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.bench.render", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--cases", type=int, default=CASES, help="value sets to render")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="report the median round")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the value sets")
    parser.add_argument(
        "--warmup-cases", type=int, default=WARMUP_CASES, help="sets of the unrecorded warm-up"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    records.add_output_arguments(parser, "--output", OUTPUT, needs="measuring")
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker)
    if args.render:
        print(f"written to {records.render_next_to(args.render, record_from_json, render_doc)}")
        return 0
    try:
        record = benchmark(args)
    except (ToolError, CommandError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    recorded = records.write(args.output, record, record_from_json, render_doc)
    print(args.output.read_text())
    print(f"written to {args.output} and {recorded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
