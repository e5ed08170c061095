"""Install or upgrade the release and wait for its rollout, whichever kind it renders.

    python -m harness.ops.deploy [--release NAME] [--namespace NS] [-f FILE ...] [--set K=V ...]
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

from harness.chart.render import (
    DEFAULT_NAMESPACE,
    DEFAULT_RELEASE,
    helm_chart_args,
    parse_set_args,
    render,
)
from harness.core.proc import CommandError
from harness.core.tools import ToolError, tool_path


@dataclass(frozen=True)
class Release:
    release: str = DEFAULT_RELEASE
    namespace: str = DEFAULT_NAMESPACE
    values_files: tuple[Path, ...] = ()
    set: Mapping[str, str] | None = None
    timeout: str = "10m"


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


class DeployError(Exception):
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


def add_release_arguments(parser: argparse.ArgumentParser) -> None:
    """The release options every rollout command takes, spelled as helm spells them."""
    parser.add_argument("--release", default=DEFAULT_RELEASE)
    parser.add_argument("--namespace", "-n", default=DEFAULT_NAMESPACE)
    parser.add_argument("--values", "-f", action="append", default=[], type=Path, metavar="FILE")
    parser.add_argument(
        "--set", dest="set_values", action="append", default=[], metavar="KEY=VALUE"
    )
    parser.add_argument("--timeout", default="10m", help="helm/kubectl duration (default 10m)")


def release_from(args: argparse.Namespace) -> Release:
    return Release(
        args.release,
        args.namespace,
        tuple(args.values),
        parse_set_args(args.set_values),
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_release_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    target = release_from(args)
    try:
        execute(commands(target, tool_path("helm"), tool_path("kubectl")), dry_run=args.dry_run)
    except (CommandError, ToolError, DeployError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
