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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.chart.render import DEFAULT_NAMESPACE, DEFAULT_RELEASE, helm_chart_args, render
from harness.ops import cli


@dataclass(frozen=True)
class Release:
    release: str = DEFAULT_RELEASE
    namespace: str = DEFAULT_NAMESPACE
    values_files: tuple[Path, ...] = ()
    set: Mapping[str, str] | None = None
    timeout: str = cli.DEFAULT_TIMEOUT


def commands(target: Release, helm: Path, kubectl: Path) -> list[list[str]]:
    """The helm and kubectl commands that roll `target` out, after a render check."""
    manifests = render(
        values_files=target.values_files,
        set=target.set,
        release=target.release,
        namespace=target.namespace,
        helm=helm,
    )
    workload = manifests.workload
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


def execute(
    planned: Sequence[Sequence[str]], env: Mapping[str, str] | None = None, dry_run: bool = False
) -> None:
    """Run each command in turn, echoing it and streaming its output; stop at a failure."""
    for command in planned:
        print("+", shlex.join(command), flush=True)
        if dry_run:
            continue
        done = subprocess.run(command, env=None if env is None else dict(env), check=False)
        if done.returncode != 0:
            raise DeployError(f"`{shlex.join(command)}` exited {done.returncode}")


def release_from(args: argparse.Namespace) -> Release:
    """The release that `cli.add_rollout_arguments`' options describe."""
    return Release(
        args.release,
        args.namespace,
        tuple(args.values),
        cli.parse_set_args(args.set_values),
        args.timeout,
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
        execute(commands(target, helm.path, kubectl.path), dry_run=args.dry_run)

    return cli.run_main(name, deploy)


if __name__ == "__main__":
    sys.exit(main())
