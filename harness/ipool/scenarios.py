"""Every documented way through an ipool rollout, rehearsed on a cluster with the emulator.

    python -m harness.ipool.scenarios [--write docs/ipool.md] [--termination-delay 3]
                                      [--kubeconfig FILE]

Each scenario installs image 1.0.0 with three replicas in a fresh namespace whose pods the
emulator serves (harness.ipool.emulator), then upgrades to 1.5.0 while a Recorder
(harness.ipool.recorder) watches the pods. The cluster is the one --kubeconfig names, else
the project's local cluster, started when needed: a KUBECONFIG in the environment is ignored,
so no rehearsal lands on a shared cluster by accident. With --write the measured table goes
into a Markdown file, so the numbers in docs/ipool.md come from a run, never from a keyboard.

The run is recorded first, as JSON next to the Markdown (docs/ipool.json), and the
Markdown is rendered from that record alone: `--render docs/ipool.json` renders it again,
after a change to its template, with no cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from harness.chart.plan import Plan, handover_plan, plan_for
from harness.chart.render import CHART_DIR, render
from harness.cluster.target import add_kubeconfig_argument, target_cluster
from harness.core import records
from harness.core.proc import run
from harness.core.retry import wait_for
from harness.core.templates import render_template
from harness.core.tools import ROOT, SCRATCH_DIR, tool_path
from harness.ipool import emulator
from harness.ipool.recorder import Measurement, Recorder
from harness.kube import identity
from harness.kube.api import ApiError, KubeAPI
from harness.kube.client import Kube
from harness.ops.deploy import DeployError, DeployRequest, commands, execute, rollout_status

OLD_TAG, NEW_TAG = "1.0.0", "1.5.0"
REPLICAS = 3
RELEASE = "dummy-flask-app"
CHART_SELECTOR = {
    "app.kubernetes.io/name": "dummy-flask-app",
    "app.kubernetes.io/instance": RELEASE,
}
WRITEUP_MANIFEST = Path(__file__).parent / "manifests" / "writeup-deployment.yaml"
WRITEUP_STATEFULSET = Path(__file__).parent / "manifests" / "writeup-statefulset.yaml"
WRITEUP_POOL = "dummy-flask-app-ipool"
# How long a rollout that should stall is watched before it is declared stalled.
STALL_WINDOW_S = 25.0
NODES = "a real node: kubelet, containerd"
ROLLOUT_TIMEOUT = "180s"
# The namespace operator every rehearsal's helm, kubectl and scripts run as.
OPERATOR = "ipool-operator"
IDENTITY_DIR = SCRATCH_DIR / "identities"
OPERATOR_SAID = (
    "a namespace operator: a client certificate signed by the cluster's CA, with"
    " scripts/operator-rbac.yaml's rights in the rehearsal's namespace and none elsewhere"
)


@dataclass
class Outcome:
    """One scenario: what was done, what the recorder saw, and what the plan predicted."""

    key: str
    title: str
    measurement: Measurement
    plan: Plan | None = None
    note: str = ""
    events: tuple[str, ...] = ()  # the distinct FailedSchedulingIP messages seen


def outcome_from_dict(data: Mapping[str, Any]) -> Outcome:
    """The Outcome that `dataclasses.asdict` turned into `data` (read back from JSON)."""
    plan = data.get("plan")
    return Outcome(
        key=data["key"],
        title=data["title"],
        measurement=Measurement(**data["measurement"]),
        plan=None if plan is None else Plan(**plan),
        note=data.get("note", ""),
        events=tuple(data.get("events", ())),
    )


@dataclass
class Record:
    """One rehearsal as docs/ipool.json keeps it: the settings, the machine and every outcome.

    docs/ipool.md is rendered from this alone (`render_doc`), so the page can be rendered
    again without a cluster, and a test can check it is what its record renders.
    """

    date: str
    chart: str  # the chart's version and commit (harness.core.records.chart_state)
    cores: int
    architecture: str
    termination_delay_s: float
    outcomes: list[Outcome]
    replicas: int = REPLICAS
    old_tag: str = OLD_TAG
    new_tag: str = NEW_TAG
    stall_window_s: float = STALL_WINDOW_S
    # What ran the pods; records from before the real node ran on kwok's fake nodes.
    nodes: str = "kwok nodes"
    # Who ran helm, kubectl and the scripts; records from before ran them as the admin.
    operator: str = ""


def record_from_json(text: str) -> Record:
    data = json.loads(text)
    return Record(**{**data, "outcomes": [outcome_from_dict(o) for o in data["outcomes"]]})


def render_doc(record: Record) -> str:
    """docs/ipool.md's text: a function of the record alone (no clock, machine or cluster)."""
    return render_template(Path(__file__).parent, "ipool.md.j2", run=record)


class Rehearsal:
    """A cluster with the emulator installed and running as a child process, for the length
    of a `with` block: on leaving it, even after a failure, the emulator is stopped and
    uninstalled, since its gate (failurePolicy Fail) must not outlive the rehearsal."""

    def __init__(
        self,
        kube: Kube,
        termination_delay: float = emulator.DEFAULT_TERMINATION_DELAY,
        prepare_namespace: Callable[[str], None] | None = None,
        holding: Callable[[], contextlib.AbstractContextManager[object]] | None = None,
    ):
        """`prepare_namespace` readies each rehearsal namespace (the local cluster's pull
        secret, say) before anything is installed there; `holding()` is entered before each
        namespace is made and left once it is gone (a test suite's share of its node).

        What an operator does (helm, kubectl, the scripts: `env()`) runs as a namespace
        operator, with the rights of scripts/operator-rbac.yaml in each rehearsal namespace
        and none elsewhere; what the platform or a cluster admin does (the emulator, pools,
        namespaces, the write-up's objects) runs with `kube`'s admin rights."""
        self.kube = kube
        self.prepare_namespace = prepare_namespace
        self.holding = holding or contextlib.nullcontext
        self.api = KubeAPI(kube.kubeconfig)
        self.termination_delay = termination_delay
        self._process: subprocess.Popen[str] | None = None
        self.operator: identity.Operator | None = None

    def __enter__(self) -> Rehearsal:
        try:
            self.operator = identity.issue(self.kube, OPERATOR, IDENTITY_DIR)
            emulator.install(self.api)
            self.start_emulator()
        except BaseException:
            self.__exit__()  # a half-done install is cleaned up like a finished one
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop_emulator()
        finally:
            try:
                emulator.uninstall(self.api)
            finally:
                self.api.close()

    def start_emulator(self) -> None:
        command = [
            sys.executable,
            "-m",
            "harness.ipool.emulator",
            "--kubeconfig",
            str(self.kube.kubeconfig),
            "run",
            "--termination-delay",
            str(self.termination_delay),
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, text=True)

    def stop_emulator(self, sig: int = signal.SIGTERM) -> None:
        if self._process is not None:
            self._process.send_signal(sig)
            self._process.wait(timeout=30)
            self._process = None

    def kill_emulator(self) -> None:
        """As a crash would: no chance to finish what it was doing."""
        self.stop_emulator(signal.SIGKILL)

    @contextlib.contextmanager
    def namespace(self, stem: str) -> Iterator[str]:
        """A fresh emulated namespace, deleted (with its pods, so their IPs) afterwards."""
        with self.holding():
            yield from self._namespace(stem)

    def _namespace(self, stem: str) -> Iterator[str]:
        name = f"ipool-{stem}-{secrets.token_hex(3)}"
        emulator.emulate_namespace(self.api, name)
        if self.prepare_namespace is not None:
            self.prepare_namespace(name)
        assert self.operator is not None, "a rehearsal's namespaces exist inside its block"
        identity.grant(self.kube, self.operator, name)
        try:
            yield name
        finally:
            self.kube.kubectl("delete", "namespace", name, "--wait=false")
            wait_for(
                lambda: not self._exists(f"/api/v1/namespaces/{name}"),
                f"namespace {name} to be deleted",
                timeout=120,
            )

    def _exists(self, path: str) -> bool:
        try:
            self.api.get(path)
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return True

    @contextlib.contextmanager
    def pool(self, name: str, size: int) -> Iterator[list[str]]:
        ips = [f"203.0.113.{10 + i}" for i in range(size)]  # TEST-NET-3: never routable
        emulator.set_pool(self.api, name, ips)
        try:
            yield ips
        finally:
            with contextlib.suppress(ApiError):
                self.api.request("DELETE", f"{emulator.POOLS_PATH}/{name}")

    def deploy(self, target: DeployRequest) -> None:
        """scripts/deploy's commands for `target`, run as the rehearsal's operator."""
        execute(commands(target, tool_path("helm"), tool_path("kubectl")), self.env())

    def env(self) -> dict[str, str]:
        """The operator's environment: their kubeconfig, with rights in the rehearsal
        namespaces only."""
        assert self.operator is not None, "the operator is issued on entering the rehearsal"
        return self.operator.env(self.kube)


Way = Callable[[Rehearsal], Outcome]


class Rehearsals:
    """Ways rehearsed side by side on one Rehearsal, `at_once` at a time, for a test suite
    that wants their outcomes sooner than one after another.

    They stay apart as they do one after another: each runs in a namespace and a pool of its
    own, and the emulator keys every IP by its pool. What several ways share beyond that (the
    write-up's pool name and its Service in `default`) makes them a chain: `start(...)` with
    more than one way runs them in order, in one slot. A way that stops the emulator must not
    run beside any other: call `wait()` first.

        with Rehearsals(rehearsal, at_once=4) as ahead:
            ahead.start(("statefulset", SCENARIOS["statefulset"]))
            outcome = ahead.outcome("statefulset")   # its Outcome, or what it raised
    """

    def __init__(self, rehearsal: Rehearsal, at_once: int) -> None:
        self.rehearsal = rehearsal
        self._slots = ThreadPoolExecutor(at_once, thread_name_prefix="rehearsal")
        self._outcomes: dict[str, Future[Outcome]] = {}

    def __enter__(self) -> Rehearsals:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._slots.shutdown(wait=True, cancel_futures=True)
        for future in self._outcomes.values():
            future.cancel()  # a chain never started: nobody waits on it any more

    def start(self, *chain: tuple[str, Way]) -> None:
        """Queue the ways of `chain`, run one after another in one slot when it frees."""
        queued: list[Future[Outcome]] = []
        for key, _ in chain:
            if key in self._outcomes:
                raise ValueError(f"{key} is rehearsed already")
            queued.append(self._outcomes.setdefault(key, Future()))

        def run_chain() -> None:
            for (_, way), future in zip(chain, queued, strict=True):
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(way(self.rehearsal))
                except BaseException as error:  # handed to whoever asks for the outcome
                    future.set_exception(error)

        self._slots.submit(run_chain)

    def outcome(self, key: str) -> Outcome:
        """The way's Outcome once it is rehearsed; what it raised, raised again."""
        return self._outcomes[key].result()

    def wait(self) -> None:
        """Until every way started so far has finished, however it ended."""
        futures.wait(list(self._outcomes.values()))


def install_with_pool(
    r: Rehearsal, namespace: str, values: Mapping[str, str] | None = None
) -> DeployRequest:
    """Install 1.0.0 (unless `values` give another image.tag) with REPLICAS replicas and
    ipool on, the pool named after the namespace, as the rehearsal's operator; wait for it."""
    target = DeployRequest(
        release=RELEASE,
        namespace=namespace,
        timeout=ROLLOUT_TIMEOUT,
        set={
            "replicaCount": str(REPLICAS),
            "image.tag": OLD_TAG,
            "ipool.enabled": "true",
            "ipool.name": namespace,
            **(values or {}),
        },
    )
    r.deploy(target)
    return target


def _upgraded(target: DeployRequest, **values: str) -> DeployRequest:
    return replace(target, set={**(target.set or {}), "image.tag": NEW_TAG, **values})


def _planned(target: DeployRequest) -> Plan:
    return plan_for(
        render(set=target.set, release=target.release, namespace=target.namespace).workload
    )


def _recorded(
    r: Rehearsal, namespace: str, selector: Mapping[str, str], action: Callable[[], bool]
) -> Measurement:
    """Run `action` (True when the rollout finished) while the recorder watches, on a
    connection of its own: rehearsals side by side (Rehearsals) would otherwise take turns
    on the shared one, and each recorder would see fewer of its pods' moments."""
    api = KubeAPI(r.kube.kubeconfig)
    try:
        with Recorder(api, namespace, selector) as recorder:
            recorder.measurement.completed = action()
    finally:
        api.close()
    return recorder.measurement


def _succeeds(run: Callable[[], object]) -> bool:
    try:
        run()
    except DeployError as error:
        print(f"rollout did not finish: {error}", flush=True)
        return False
    return True


def writeup_deployment(r: Rehearsal) -> Outcome:
    """1. The write-up's own Deployment, applied with kubectl: the stall, reproduced."""
    manifest = yaml.safe_load(WRITEUP_MANIFEST.read_text())
    kubectl = str(tool_path("kubectl"))
    with r.namespace("writeup") as ns, r.pool(WRITEUP_POOL, REPLICAS):
        manifest["metadata"]["namespace"] = ns

        def apply(tag: str) -> None:
            container = manifest["spec"]["template"]["spec"]["containers"][0]
            container["image"] = container["image"].rsplit(":", 1)[0] + f":{tag}"
            r.kube.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))

        apply(OLD_TAG)
        execute(
            [rollout_status(kubectl, ns, "deployment/dummy-flask-app", ROLLOUT_TIMEOUT)],
            r.env(),
        )

        def upgrade() -> bool:
            apply(NEW_TAG)
            return _succeeds(
                lambda: execute(
                    [
                        rollout_status(
                            kubectl, ns, "deployment/dummy-flask-app", f"{STALL_WINDOW_S:g}s"
                        )
                    ],
                    r.env(),
                )
            )

        measured = _recorded(r, ns, {"app": "dummy-flask-app"}, upgrade)
        events = r.kube.objects("events", ns)
    texts = sorted({e["message"] for e in events if e.get("reason") == emulator.REASON})
    return Outcome(
        "writeup",
        "Hand-written Deployment from the write-up (kubectl apply)",
        measured,
        note=f"watched for {STALL_WINDOW_S:g} s",
        events=tuple(texts),
    )


def chart_rollout(
    r: Rehearsal, key: str, title: str, values: Mapping[str, str], pool_size: int
) -> Outcome:
    """2-4. The chart, upgraded 1.0.0 -> 1.5.0 with `values`, against a pool of `pool_size`."""
    with r.namespace(key) as ns, r.pool(ns, pool_size):
        upgrade = _upgraded(install_with_pool(r, ns, values))
        measured = _recorded(r, ns, CHART_SELECTOR, lambda: _succeeds(lambda: r.deploy(upgrade)))
    return Outcome(key, title, measured, plan=_planned(upgrade))


def scripted_rollout(
    r: Rehearsal,
    key: str,
    title: str,
    script: str,
    note: str,
    installed: Mapping[str, str] | None = None,
    switch_to: str | None = None,
    kill_at: Sequence[str] = (),
) -> Outcome:
    """5-6. A scripts/ rollout from a release of 1.0.0 (with `installed` values) to 1.5.0;
    with `switch_to`, a hand-over to that kind, planned as one. For each line of `kill_at`,
    the script (helm and kubectl with it) is run and killed with SIGKILL when it prints a
    line starting so; then the same command runs to the end. The recorder watches them all."""
    with r.namespace(key) as ns, r.pool(ns, REPLICAS):
        upgrade = _upgraded(install_with_pool(r, ns, installed))
        args = [str(ROOT / "scripts" / script), "-n", ns, "--timeout", ROLLOUT_TIMEOUT]
        if script.startswith("migrate-to-"):
            args.append("--yes")  # the old workload is deleted: said on a terminal, not here
        for k, v in (upgrade.set or {}).items():
            args += ["--set", f"{k}={v}"]

        def roll_out() -> bool:
            for line in kill_at:
                killed_at(args, r.env(), line)
            return _succeeds(lambda: execute([args], r.env()))

        measured = _recorded(r, ns, CHART_SELECTOR, roll_out)
    plan = None if switch_to is None else _handover_planned(upgrade, switch_to)
    return Outcome(key, title, measured, plan=plan, note=note)


def killed_at(command: list[str], env: Mapping[str, str], line: str) -> None:
    """Run `command` until it prints a line starting with `line`, then SIGKILL it and all it
    started, as a lost CI runner would be."""
    process = subprocess.Popen(
        command,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    reached = False
    for text in process.stdout:
        print(text, end="", flush=True)
        if text.startswith(line):
            reached = True
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    if not reached:
        raise DeployError(f"{command[0]} ended before it printed {line!r}")
    print(f"-- killed at {line!r}; running the same command again", flush=True)


def _handover_planned(target: DeployRequest, kind: str) -> Plan:
    values = {**(target.set or {}), "workload.kind": kind}
    return handover_plan(
        render(set=values, release=target.release, namespace=target.namespace).workload
    )


def plain_kind_switch(r: Rehearsal) -> Outcome:
    """6b. Deployment -> StatefulSet with one plain `helm upgrade`."""
    with r.namespace("switch") as ns, r.pool(ns, REPLICAS):
        switched = _upgraded(
            install_with_pool(r, ns),
            **{"workload.kind": "StatefulSet", "workload.switchKind": "true"},
        )
        measured = _recorded(r, ns, CHART_SELECTOR, lambda: _succeeds(lambda: r.deploy(switched)))
    return Outcome(
        "switch-helm",
        "Deployment to StatefulSet, plain helm upgrade",
        measured,
        note="Helm creates the StatefulSet, then deletes the Deployment",
    )


def adopted_writeup(r: Rehearsal, manifest: Path, key: str, title: str) -> Outcome:
    """7. The write-up's objects, applied with kubectl as it did, brought under a release of
    the chart by scripts/adopt-unmanaged (a StatefulSet in the end), then upgraded to 1.5.0."""
    documents = list(yaml.safe_load_all(manifest.read_text()))
    with r.namespace(key) as ns, r.pool(WRITEUP_POOL, REPLICAS):
        for document in documents:
            if document["kind"] != "Service":  # the write-up's Service names no namespace
                document["metadata"]["namespace"] = ns
        r.kube.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
        kind = next(d["kind"] for d in documents if d["kind"] != "Service")
        kubectl = str(tool_path("kubectl"))
        execute(
            [rollout_status(kubectl, ns, f"{kind.lower()}/{RELEASE}", ROLLOUT_TIMEOUT)], r.env()
        )
        adopt = [str(ROOT / "scripts" / "adopt-unmanaged"), "-n", ns, "--yes"]
        adopt += ["--timeout", ROLLOUT_TIMEOUT]
        adopt += ["--set", "ipool.enabled=true", "--set", f"image.tag={OLD_TAG}"]
        done: list[str] = []

        def adopt_it() -> bool:
            result = run(adopt, env=r.env(), check=False, timeout=900)
            print(result.stdout, result.stderr, flush=True)
            done.append(result.stdout)
            return result.returncode == 0

        measured = _recorded(r, ns, {}, adopt_it)
        # The write-up's Service in `default` is out of the operator's reach: the script
        # says so, and a cluster admin removes it.
        strays = [d for d in documents if d["kind"] == "Service"]
        for stray in strays:
            r.kube.kubectl(
                "--namespace", "default", "delete", "service", stray["metadata"]["name"],
                "--ignore-not-found",
            )  # fmt: skip
        upgrade = DeployRequest(
            RELEASE,
            ns,
            timeout=ROLLOUT_TIMEOUT,
            set={"ipool.enabled": "true", "workload.kind": "StatefulSet", "image.tag": NEW_TAG},
        )
        upgraded = _succeeds(lambda: r.deploy(upgrade))
    said = done[0].splitlines()
    removed = next((line for line in said if line.startswith("removed:")), "")
    told = any(line.startswith("left: service/") for line in said)
    if strays and told:
        removed += "; left: service/dummy-flask-app in default, out of the operator's reach"
        removed += " (the script said so; a cluster admin removed it)"
    note = f"{removed}; then helm upgrade to {NEW_TAG}: {'ok' if upgraded else 'FAILED'}"
    adopted = replace(upgrade, set={**(upgrade.set or {}), "image.tag": OLD_TAG})
    return Outcome(key, title, measured, plan=_handover_planned(adopted, "StatefulSet"), note=note)


def emulator_restart_mid_rollout(r: Rehearsal) -> Outcome:
    """The guarded Deployment rollout, with the emulator killed and restarted while pods wait.

    Not a way to roll out: a check that the emulator's state really lives in the cluster.
    """
    with r.namespace("restart") as ns, r.pool(ns, REPLICAS):
        upgrade = _upgraded(install_with_pool(r, ns))
        result: list[bool] = []

        def roll_out() -> bool:
            worker = threading.Thread(
                target=lambda: result.append(_succeeds(lambda: r.deploy(upgrade)))
            )
            worker.start()
            wait_for(
                lambda: emulator.gated(r.api.items(f"/api/v1/namespaces/{ns}/pods")),
                "a new pod waiting for an IP",
                timeout=60,
                interval=0.05,
            )
            r.kill_emulator()
            r.start_emulator()
            worker.join()
            return result[0]

        measured = _recorded(r, ns, CHART_SELECTOR, roll_out)
    return Outcome("restart", "Emulator killed and restarted mid-rollout", measured)


SCENARIOS: dict[str, Way] = {
    "writeup": writeup_deployment,
    "deployment-guarded": lambda r: chart_rollout(
        r,
        "deployment-guarded",
        "Chart Deployment, pool of 3 (the guard's default strategy)",
        {},
        REPLICAS,
    ),
    "deployment-n-plus-1": lambda r: chart_rollout(
        r,
        "deployment-n-plus-1",
        "Chart Deployment, maxSurge 1, pool of 4 (n+1)",
        {
            "strategy.rollingUpdate.maxSurge": "1",
            "strategy.rollingUpdate.maxUnavailable": "0",
            "ipool.size": str(REPLICAS + 1),
        },
        REPLICAS + 1,
    ),
    "statefulset": lambda r: chart_rollout(
        r, "statefulset", "Chart StatefulSet, pool of 3", {"workload.kind": "StatefulSet"}, REPLICAS
    ),
    "two-phase": lambda r: scripted_rollout(
        r,
        "two-phase",
        "Two phases: without the annotation, then with it",
        "rollout-two-phase",
        "scripts/rollout-two-phase",
    ),
    "migrate-script": lambda r: scripted_rollout(
        r,
        "migrate-script",
        "Deployment to StatefulSet, scripts/migrate-to-statefulset",
        "migrate-to-statefulset",
        "hands the pods over one IP at a time, then the release adopts the StatefulSet",
        switch_to="StatefulSet",
    ),
    "migrate-back-script": lambda r: scripted_rollout(
        r,
        "migrate-back-script",
        "StatefulSet to Deployment, scripts/migrate-to-deployment",
        "migrate-to-deployment",
        "hands the pods over one IP at a time, then the release adopts the Deployment",
        installed={"workload.kind": "StatefulSet"},
        switch_to="Deployment",
    ),
    "migrate-killed-script": lambda r: scripted_rollout(
        r,
        "migrate-killed-script",
        "Deployment to StatefulSet, scripts/migrate-to-statefulset killed 3 times, run again",
        "migrate-to-statefulset",
        "SIGKILL (helm and kubectl with it) as it created the StatefulSet, at pod 2 of 3 and"
        " as helm adopted; each rerun resumed from what was written on the StatefulSet",
        switch_to="StatefulSet",
        kill_at=("  create statefulset/", "== pod 2 of 3", "== helm adopts"),
    ),
    "switch-helm": plain_kind_switch,
    "adopt-writeup-deployment": lambda r: adopted_writeup(
        r,
        WRITEUP_MANIFEST,
        "adopt-writeup-deployment",
        "The write-up's Deployment adopted, scripts/adopt-unmanaged (to a StatefulSet)",
    ),
    "adopt-writeup-statefulset": lambda r: adopted_writeup(
        r,
        WRITEUP_STATEFULSET,
        "adopt-writeup-statefulset",
        "The write-up's StatefulSet adopted, scripts/adopt-unmanaged (through a Deployment)",
    ),
}


def write_doc(outcomes: list[Outcome], path: Path, termination_delay: float, chart: str) -> None:
    """Record the run next to `path` (same name, .json), then render `path` from that record."""
    today, cores = dt.date.today().isoformat(), os.cpu_count() or 1
    record = Record(
        today,
        chart,
        cores,
        platform.machine(),
        termination_delay,
        outcomes,
        nodes=NODES,
        operator=OPERATOR_SAID,
    )
    records.write(path, record, record_from_json, render_doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    records.add_output_arguments(parser, "--write", None, needs="cluster")
    parser.add_argument(
        "--termination-delay", type=float, default=emulator.DEFAULT_TERMINATION_DELAY
    )
    parser.add_argument("--only", choices=list(SCENARIOS), action="append")
    add_kubeconfig_argument(parser, "rehearse on")
    args = parser.parse_args(argv)
    if args.render:
        print(f"wrote {records.render_next_to(args.render, record_from_json, render_doc)}")
        return 0
    target = target_cluster(args.kubeconfig)
    chart = records.chart_state(CHART_DIR)
    outcomes = []
    prepare = target.local.allow_pulls if target.local else None
    with Rehearsal(target.kube, args.termination_delay, prepare) as rehearsal:
        for key in args.only or SCENARIOS:
            started = time.monotonic()
            outcome = SCENARIOS[key](rehearsal)
            outcomes.append(outcome)
            print(
                f"{key}: {outcome.measurement.as_row()} ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    if args.write:
        write_doc(outcomes, args.write, args.termination_delay, chart)
        print(f"wrote {args.write} and {args.write.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
