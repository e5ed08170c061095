"""Install or upgrade the release and wait for its rollout, whichever kind it renders.

    scripts/deploy [-n NAMESPACE] [--kube-context NAME] [--kubeconfig FILE] [--release NAME]
                   [--chart REF [--version V]] [-f FILE ...] [--set[-string|-file] K=V ...]
                   [--reuse-values] [--timeout 10m] [--stall-timeout 30s] [--dry-run]
                   [--wait-for-lock 0s] [--uninstall-pending]

The chart is rendered first with the same values, which refuses bad values before anything
reaches the cluster and tells which workload (Deployment or StatefulSet) to wait for. Then,
holding the release's Lease (harness.ops.lock) and past any revision a dead run left
pending (harness.ops.pending), helm upgrades and the rollout is watched.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from harness.chart.render import (
    CHART_DIR,
    DEFAULT_NAMESPACE,
    DEFAULT_RELEASE,
    Manifests,
    helm_chart_args,
    render,
)
from harness.core.objects import Obj
from harness.core.proc import run as run_command
from harness.ops import chartref, cli, kubeconfig, lock, pending
from harness.ops.kubectl import Kubectl
from harness.ops.stall import StallWatch

WATCH_INTERVAL_S = 2.0
STOP_TIMEOUT_S = 10.0
# How long helm may take, once signalled, to record the release as failed and exit.
HELM_STOP_S = 30.0
KEPT_ERROR_LINES = 20
DEADLINE_GRACE_S = 5.0


@dataclass(frozen=True)
class DeployRequest:
    """One run of scripts/deploy as its command line asks: which release, where, with what
    values and time limits (a Helm release is what it installs or upgrades)."""

    release: str = DEFAULT_RELEASE
    namespace: str = DEFAULT_NAMESPACE
    values_files: tuple[Path, ...] = ()
    set: Mapping[str, str] | None = None
    timeout: str = cli.DEFAULT_TIMEOUT
    stall_timeout: str = cli.DEFAULT_STALL
    # How long to wait for another run that holds the release (harness.ops.lock).
    wait_for_lock: str = "0s"
    # Whether a first install left pending may be uninstalled (harness.ops.pending).
    uninstall_pending: bool = False
    set_string: Mapping[str, str] | None = None
    set_file: Mapping[str, str] | None = None  # KEY=PATH, as helm's --set-file
    chart: Path = CHART_DIR  # a chart directory or .tgz (harness.ops.chartref fetches others)
    # When the whole run must end: `timeout` from when the release was described.
    deadline: cli.Deadline | None = None

    def __post_init__(self) -> None:
        if self.deadline is None:
            object.__setattr__(self, "deadline", cli.Deadline.start(self.timeout))

    def time_left(self) -> str:
        """The --timeout for the next helm or kubectl wait: what is left of the run's."""
        assert self.deadline is not None
        if self.deadline.passed():
            raise DeployTimeout(f"the run ran out its --timeout {self.deadline.timeout}")
        return self.deadline.left()

    def with_set(self, **values: str) -> DeployRequest:
        """This release with `values` given by --set on top of its own."""
        return replace(self, set={**(self.set or {}), **values})

    def chart_options(self) -> dict[str, Any]:
        """The chart and values, as both render() and helm_chart_args() take them."""
        return {
            "release": self.release,
            "namespace": self.namespace,
            "chart": self.chart,
            "values_files": self.values_files,
            "set": self.set,
            "set_string": self.set_string,
            "set_file": self.set_file,
        }

    def chart_args(self, command: str) -> list[str]:
        """helm's arguments after the binary for `command` (upgrade, template)."""
        return helm_chart_args(command, **self.chart_options())

    def manifests(self, helm: Path) -> Manifests:
        """The chart rendered with this release's values; refuses values the chart refuses."""
        return render(helm=helm, **self.chart_options())

    def value(self, *path: str) -> object:
        """The value at `path` as helm merges what this release gives (values files in
        order, then --set, --set-string, --set-file), or None when none of them sets it."""
        key = ".".join(path)
        if key in (self.set_file or {}):
            return Path((self.set_file or {})[key]).read_text()
        for given in (self.set_string, self.set):
            if key in (given or {}):
                return (given or {})[key]
        found = None
        for file in self.values_files:
            node = yaml.safe_load(file.read_text()) or {}
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            found = found if node is None else node
        return found


def refuse_unmeant_kind_switch(target: DeployRequest, workload: Obj, kubectl: Kubectl) -> None:
    """Refuse what the chart's own guard refuses during the upgrade, before helm runs: values
    that render the other kind than the release's running workload, unless
    workload.switchKind says the switch is meant."""
    kind, name = workload["kind"], workload["metadata"]["name"]
    other = "StatefulSet" if kind == "Deployment" else "Deployment"
    live = kubectl.get(f"{other.lower()}/{name}")
    if live is None or str(target.value("workload", "switchKind")).lower() == "true":
        return
    owner = live["metadata"].get("annotations", {}).get("meta.helm.sh/release-name")
    if owner == target.release and live["spec"].get("replicas", 1) > 0:
        raise cli.Refused(
            f"release {target.release} runs a {other} and these values render a {kind}; if "
            f"that is not meant, give workload.kind={other} (or --reuse-values); to switch, "
            f"hand the pods over one at a time with scripts/migrate-to-{kind.lower()}, or "
            "set workload.switchKind=true for a plain switch (seconds without a Ready pod)"
        )


def commands(target: DeployRequest, helm: Path, kubectl: Path) -> list[list[str]]:
    """The helm and kubectl commands that roll `target` out, after a render check."""
    workload = target.manifests(helm).workload
    resource = f"{workload['kind'].lower()}/{workload['metadata']['name']}"
    timeout = target.time_left()
    return [
        [str(helm), *target.chart_args("upgrade"), "--install", "--wait", "--timeout", timeout],
        rollout_status(kubectl, target.namespace, resource, timeout),
    ]


class DeployError(cli.OperatorError):
    """A command of the rollout failed; its output was streamed as it ran."""


class DeployTimeout(DeployError):
    """helm or kubectl ran out its --timeout."""

    exit_code = cli.Exit.TIMEOUT


def stall_watch(
    target: DeployRequest, helm: Path, kubectl: Path, env: Mapping[str, str] | None = None
) -> StallWatch | None:
    """A watch on `target`'s rollout, or None when its stall timeout is 0."""
    seconds = cli.duration_seconds(target.stall_timeout)
    if not seconds:
        return None
    workload = target.manifests(helm).workload
    return StallWatch(kubectl, workload, target.namespace, seconds, env=env, clock=time.monotonic)


def execute(
    planned: Sequence[Sequence[str]],
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    watch: StallWatch | None = None,
    deadline: cli.Deadline | None = None,
) -> None:
    """Run each command in turn, echoing it and streaming its output; stop at a failure, or
    when `watch` finds the rollout stalled, or when `deadline` has passed (then the running
    command is stopped).

    A SIGINT or SIGTERM that reaches this process is passed on to the running command (helm
    then records the release as failed, so that the next run can upgrade it) before the
    interruption goes on up."""
    for command in planned:
        print("+", shlex.join(command), flush=True)
        if dry_run:
            continue
        process = subprocess.Popen(
            command, env=None if env is None else dict(env), stderr=subprocess.PIPE, text=True
        )
        errors = _Tee(process)
        errors.start()
        try:
            code = _wait(process, watch, deadline)
        except BaseException as stop:
            _stop(process, _signal_for(stop))
            raise
        finally:
            errors.join(STOP_TIMEOUT_S)
        if code != 0:
            raise _failure(command, code, list(errors.lines))


class _Tee(threading.Thread):
    """Copies a process's stderr to ours as it comes, keeping its last lines."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.lines: deque[str] = deque(maxlen=KEPT_ERROR_LINES)

    def run(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            if line.strip():
                self.lines.append(line.strip())


def _signal_for(stop: BaseException) -> int:
    """The signal that stops the running command the way `stop` stopped this one."""
    if isinstance(stop, cli.Interrupted):
        return stop.signum
    return signal.SIGINT if isinstance(stop, KeyboardInterrupt) else signal.SIGTERM


def _wait(
    process: subprocess.Popen[str], watch: StallWatch | None, deadline: cli.Deadline | None
) -> int:
    while True:
        try:
            return process.wait(WATCH_INTERVAL_S)
        except subprocess.TimeoutExpired:
            if watch is not None:
                watch.check()
            # helm and kubectl were given what was left of the run: past it (and a grace for
            # them to say so themselves), the run has outlived its --timeout.
            if deadline is not None and deadline.passed(DEADLINE_GRACE_S):
                raise DeployTimeout(f"the run ran out its --timeout {deadline.timeout}") from None


def _stop(process: subprocess.Popen[str], signum: int) -> None:
    """Signal `process` and give it time to clean up; kill it if it takes too long."""
    if process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(HELM_STOP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


def _failure(command: Sequence[str], code: int, errors: Sequence[str]) -> cli.OperatorError:
    """The one-line error for a command that exited `code`, from its last stderr lines."""
    said = f": {errors[-1]}" if errors else ""
    if (refused := cli.forbidden_in("\n".join(errors))) is not None:
        return refused
    if any("context deadline exceeded" in line or "timed out waiting" in line for line in errors):
        return DeployTimeout(f"`{command[0]} {command[1]}` ran out its --timeout{said}")
    return DeployError(f"`{shlex.join(command)}` exited {code}{said}")


@contextlib.contextmanager
def reusing_values(
    target: DeployRequest, helm: Path, env: Mapping[str, str] | None = None
) -> Iterator[DeployRequest]:
    """`target` starting from the values its release was last given (`helm get values`),
    then its own files and --set: what helm's --reuse-values does, made visible to the render
    that picks the workload to wait for. A release not installed yet has none to reuse."""
    command = [str(helm), "get", "values", target.release, "--namespace", target.namespace]
    done = run_command([*command, "--output", "yaml"], env=env, check=False)
    if done.returncode != 0:
        if (refused := cli.forbidden_in(done.stderr)) is not None:
            raise refused
        if "not found" not in done.stderr:
            raise cli.OperatorError(f"`{shlex.join(command)}` failed: {done.stderr.strip()}")
        yield target
        return
    with tempfile.TemporaryDirectory(prefix="dfa-reused-") as folder:
        reused = Path(folder) / "reused-values.yaml"
        reused.write_text(done.stdout.removeprefix("USER-SUPPLIED VALUES:\n"))
        print(f"reusing the values release {target.release} was last given", flush=True)
        yield replace(target, values_files=(reused, *target.values_files))


def values_of(
    args: argparse.Namespace, given: DeployRequest, helm: Path
) -> contextlib.AbstractContextManager[DeployRequest]:
    """The release the command works on: `given`, or with --reuse-values `reusing_values`."""
    return reusing_values(given, helm) if args.reuse_values else contextlib.nullcontext(given)


@contextlib.contextmanager
def described(args: argparse.Namespace, helm: Path) -> Iterator[DeployRequest]:
    """For the `with` block, the release that `cli.add_values_arguments`' options (and
    `cli.add_rollout_arguments`', when the command takes them) describe: in the namespace and
    cluster they choose (harness.ops.kubeconfig), with the chart they name
    (harness.ops.chartref). Its --timeout starts now."""
    with (
        kubeconfig.selected(args.namespace, args.kubeconfig, args.kube_context) as namespace,
        chartref.local_chart(chartref.ChartSource.from_args(args), helm) as chart,
    ):
        yield DeployRequest(
            release=args.release,
            namespace=namespace,
            values_files=tuple(args.values),
            set=cli.parse_set_args(args.set_values),
            set_string=cli.parse_set_args(args.set_string_values, "--set-string"),
            set_file=cli.parse_set_args(args.set_file_values, "--set-file"),
            chart=chart,
            timeout=getattr(args, "timeout", cli.DEFAULT_TIMEOUT),
            stall_timeout=getattr(args, "stall_timeout", cli.DEFAULT_STALL),
            wait_for_lock=getattr(args, "wait_for_lock", "0s"),
            uninstall_pending=getattr(args, "uninstall_pending", False),
        )


@contextlib.contextmanager
def exclusive(
    target: DeployRequest,
    helm: Path,
    kubectl: Path,
    command: str,
    env: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """For the `with` block, hold the release's Lease as `command` (the command line), so
    that no other run of these scripts changes it meanwhile; a revision that a dead run
    left pending is moved on from first."""
    namespace, release = target.namespace, target.release
    with lock.holding(kubectl, namespace, release, target.wait_for_lock, command, env) as held:
        pending.recover(
            Kubectl(kubectl, target.namespace, env),
            helm,
            target.release,
            held.left_by(),
            target.uninstall_pending,
        )
        yield


def rollout_status(kubectl: Path | str, namespace: str, resource: str, timeout: str) -> list[str]:
    """`kubectl rollout status`: waits until `resource` has rolled out, or fails at `timeout`."""
    return [
        str(kubectl),
        "--namespace",
        namespace,
        "rollout",
        "status",
        resource,
        "--timeout",
        timeout,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    name = cli.prog("harness.ops.deploy")
    parser = argparse.ArgumentParser(
        prog=name, description=__doc__.splitlines()[0], epilog=cli.EXIT_CODES
    )
    cli.add_rollout_arguments(parser)
    args = parser.parse_args(argv)

    def deploy() -> None:
        helm, kubectl = cli.helm_tool(), cli.kubectl_tool()
        cli.report_tools(helm, kubectl)
        with described(args, helm.path) as given:
            if args.dry_run:
                execute(commands(given, helm.path, kubectl.path), dry_run=True)
                return
            namespace = Kubectl(kubectl.path, given.namespace)
            namespace.ensure_namespace()
            with values_of(args, given, helm.path) as target:
                workload = target.manifests(helm.path).workload  # refuses bad values
                refuse_unmeant_kind_switch(target, workload, namespace)
                with exclusive(target, helm.path, kubectl.path, cli.command_line(name, argv)):
                    planned = commands(target, helm.path, kubectl.path)  # what time is left
                    watch = stall_watch(target, helm.path, kubectl.path)
                    execute(planned, watch=watch, deadline=target.deadline)

    return cli.run_main(name, deploy)


if __name__ == "__main__":
    sys.exit(main())
