"""Install or upgrade the release and wait for its rollout, whichever kind it renders.

    scripts/deploy [--release NAME] [-n NAMESPACE] [-f FILE ...] [--set KEY=VALUE ...]
                   [--timeout 10m] [--dry-run]

The chart is rendered first with the same values, which refuses bad values before anything
reaches the cluster and tells which workload (Deployment or StatefulSet) to wait for.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.chart.render import (
    DEFAULT_NAMESPACE,
    DEFAULT_RELEASE,
    Manifests,
    helm_chart_args,
    render,
)
from harness.ops import cli
from harness.ops.stall import StallError, StallWatch

WATCH_INTERVAL_S = 2.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Release:
    release: str = DEFAULT_RELEASE
    namespace: str = DEFAULT_NAMESPACE
    values_files: tuple[Path, ...] = ()
    set: Mapping[str, str] | None = None
    timeout: str = cli.DEFAULT_TIMEOUT
    stall_timeout: str = cli.DEFAULT_STALL

    def manifests(self, helm: Path) -> Manifests:
        """The chart rendered with this release's values; refuses values the chart refuses."""
        return render(
            values_files=self.values_files,
            set=self.set,
            release=self.release,
            namespace=self.namespace,
            helm=helm,
        )


def commands(target: Release, helm: Path, kubectl: Path) -> list[list[str]]:
    """The helm and kubectl commands that roll `target` out, after a render check."""
    workload = target.manifests(helm).workload
    upgrade = helm_chart_args(
        "upgrade",
        release=target.release,
        namespace=target.namespace,
        values_files=target.values_files,
        set=target.set,
    )
    resource = f"{workload['kind'].lower()}/{workload['metadata']['name']}"
    return [
        [
            str(helm),
            *upgrade,
            "--install",
            "--create-namespace",
            "--wait",
            "--timeout",
            target.timeout,
        ],
        rollout_status(kubectl, target.namespace, resource, target.timeout),
    ]


class DeployError(cli.OperatorError):
    """A command of the rollout failed; its output was streamed as it ran."""


def stall_watch(
    target: Release, helm: Path, kubectl: Path, env: Mapping[str, str] | None = None
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
) -> None:
    """Run each command in turn, echoing it and streaming its output; stop at a failure, or
    when `watch` finds the rollout stalled (then the running command is stopped)."""
    for command in planned:
        print("+", shlex.join(command), flush=True)
        if dry_run:
            continue
        process = subprocess.Popen(command, env=None if env is None else dict(env))
        while True:
            try:
                code = process.wait(WATCH_INTERVAL_S)
                break
            except subprocess.TimeoutExpired:
                try:
                    if watch is not None:
                        watch.check()
                except StallError:
                    process.terminate()
                    process.wait(STOP_TIMEOUT_S)
                    raise
        if code != 0:
            raise DeployError(f"`{shlex.join(command)}` exited {code}")


def release_from(args: argparse.Namespace) -> Release:
    """The release that `cli.add_rollout_arguments`' options describe."""
    return Release(
        args.release,
        args.namespace,
        tuple(args.values),
        cli.parse_set_args(args.set_values),
        args.timeout,
        args.stall_timeout,
    )


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
    parser = argparse.ArgumentParser(prog=name, description=__doc__.splitlines()[0])
    cli.add_rollout_arguments(parser)
    args = parser.parse_args(argv)

    def deploy() -> None:
        target = release_from(args)
        helm, kubectl = cli.helm_tool(), cli.kubectl_tool()
        cli.report_tools(helm, kubectl)
        planned = commands(target, helm.path, kubectl.path)
        watch = stall_watch(target, helm.path, kubectl.path)
        execute(planned, dry_run=args.dry_run, watch=watch)

    return cli.run_main(name, deploy)


if __name__ == "__main__":
    sys.exit(main())
