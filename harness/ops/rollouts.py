"""Rollouts that respect a fixed IP pool: the two-phase way and the move to a StatefulSet.

    python -m harness.ops.rollouts two-phase [-n NS] [--release NAME] [-f FILE ...] [--set K=V ...]
    python -m harness.ops.rollouts migrate   [-n NS] [--release NAME] [-f FILE ...] [--set K=V ...]

two-phase: upgrade once with `ipool.enabled=false` and wait, so new pods need no IP and the
old pods' IPs are freed as they go; then upgrade again with `ipool.enabled=true` and wait.
Public IPs are down from the first rollout until the second has finished.

migrate: what the operations write-up did by hand (delete the Deployment, then create the
StatefulSet), with Helm: scale the release's Deployment to zero, wait until its pods are
gone and their IPs with them, then upgrade with `workload.kind=StatefulSet` and wait. The
app is down from the last old pod to the first new Ready one. A plain `helm upgrade --set
workload.kind=StatefulSet` also works: Helm creates the StatefulSet before it deletes the
Deployment, so the first new pod waits for an IP until an old pod is gone.

Both take helm's own -f/--set and talk to the cluster in KUBECONFIG.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace

from harness.chart.render import render
from harness.core.proc import CommandError, run
from harness.core.retry import wait_for
from harness.core.tools import ToolError, tool_path
from harness.ops.deploy import (
    DeployError,
    Release,
    add_release_arguments,
    commands,
    execute,
    release_from,
)


def _with(target: Release, **values: str) -> Release:
    return replace(target, set={**(target.set or {}), **values})


def two_phase(target: Release, env: Mapping[str, str] | None = None) -> None:
    """Roll out without the pool annotation, then with it."""
    helm, kubectl = tool_path("helm"), tool_path("kubectl")
    for phase, enabled in (("1/2: without public IPs", "false"), ("2/2: with public IPs", "true")):
        print(f"== phase {phase} (ipool.enabled={enabled})", flush=True)
        execute(commands(_with(target, **{"ipool.enabled": enabled}), helm, kubectl), env)


def migrate_to_statefulset(target: Release, env: Mapping[str, str] | None = None) -> None:
    """Stop the release's Deployment, wait for its pods (and IPs) to go, then switch kinds."""
    helm, kubectl = tool_path("helm"), tool_path("kubectl")
    deployment = render(
        values_files=target.values_files,
        set={**(target.set or {}), "workload.kind": "Deployment"},
        release=target.release,
        namespace=target.namespace,
        helm=helm,
    ).workload
    name = deployment["metadata"]["name"]
    selector = ",".join(
        f"{k}={v}" for k, v in deployment["spec"]["selector"]["matchLabels"].items()
    )
    ns = ["--namespace", target.namespace]
    print(f"== stop Deployment {name} and wait until its pods are gone", flush=True)
    execute([[str(kubectl), *ns, "scale", f"deployment/{name}", "--replicas=0"]], env)
    list_pods = [str(kubectl), *ns, "get", "pods", "--selector", selector, "--output", "name"]
    # Polled rather than `kubectl wait --for=delete`, which fails when no pod is left to match.
    wait_for(
        lambda: not run(list_pods, env=env).stdout.strip(),
        f"the pods of Deployment {name} to be gone",
        timeout=_seconds(target.timeout),
    )
    print("== create the StatefulSet", flush=True)
    execute(commands(_with(target, **{"workload.kind": "StatefulSet"}), helm, kubectl), env)


def _seconds(duration: str) -> float:
    """A helm/kubectl duration of one unit ("90s", "10m", "1h") in seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if duration[-1:] in units and duration[:-1].isdigit():
        return int(duration[:-1]) * units[duration[-1]]
    raise ValueError(f"--timeout: {duration!r} is not a duration like 90s, 10m or 1h")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("how", choices=["two-phase", "migrate"])
    add_release_arguments(parser)
    args = parser.parse_args(argv)
    target = release_from(args)
    how = two_phase if args.how == "two-phase" else migrate_to_statefulset
    try:
        how(target)
    except (CommandError, ToolError, DeployError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"done: {args.how} of {shlex.quote(args.release)} in {args.namespace}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
