"""Rollouts that respect a fixed IP pool: the two-phase way and the move to a StatefulSet.

    scripts/rollout-two-phase      [-n NAMESPACE] [--release NAME] [-f FILE ...] [--set K=V ...]
                                   [--timeout 10m] [--dry-run]
    scripts/migrate-to-statefulset [-n NAMESPACE] [--release NAME] [-f FILE ...] [--set K=V ...]
                                   [--timeout 10m] [--dry-run]

(`python -m harness.ops.rollouts two-phase|migrate ...` without the scripts.)

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
from harness.core.objects import label_selector
from harness.core.proc import run
from harness.core.retry import wait_for
from harness.core.tools import tool_path
from harness.ops import cli
from harness.ops.deploy import Release, commands, execute, release_from


def _with(target: Release, **values: str) -> Release:
    return replace(target, set={**(target.set or {}), **values})


def two_phase(target: Release, env: Mapping[str, str] | None = None, dry_run: bool = False) -> None:
    """Roll out without the pool annotation, then with it."""
    helm, kubectl = tool_path("helm"), tool_path("kubectl")
    for phase, enabled in (("1/2: without public IPs", "false"), ("2/2: with public IPs", "true")):
        print(f"== phase {phase} (ipool.enabled={enabled})", flush=True)
        planned = commands(_with(target, **{"ipool.enabled": enabled}), helm, kubectl)
        execute(planned, env, dry_run)


def migrate_to_statefulset(
    target: Release, env: Mapping[str, str] | None = None, dry_run: bool = False
) -> None:
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
    selector = label_selector(deployment["spec"]["selector"]["matchLabels"])
    ns = ["--namespace", target.namespace]
    print(f"== stop Deployment {name} and wait until its pods are gone", flush=True)
    execute([[str(kubectl), *ns, "scale", f"deployment/{name}", "--replicas=0"]], env, dry_run)
    list_pods = [str(kubectl), *ns, "get", "pods", "--selector", selector, "--output", "name"]
    if dry_run:
        print(f"# then wait up to {target.timeout} until `{shlex.join(list_pods)}` lists none")
    else:
        # Polled rather than `kubectl wait --for=delete`, which fails when no pod is left.
        wait_for(
            lambda: not run(list_pods, env=env).stdout.strip(),
            f"the pods of Deployment {name} to be gone",
            timeout=cli.duration_seconds(target.timeout),
        )
    print("== create the StatefulSet", flush=True)
    planned = commands(_with(target, **{"workload.kind": "StatefulSet"}), helm, kubectl)
    execute(planned, env, dry_run)


WAYS = {"two-phase": two_phase, "migrate": migrate_to_statefulset}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    how = argv.pop(0) if argv and argv[0] in WAYS else None
    if how is None:
        module = "python -m harness.ops.rollouts"
        print(
            f"{module}: error: the first argument must be one of {', '.join(WAYS)}", file=sys.stderr
        )
        return 2
    name = cli.prog(f"harness.ops.rollouts {how}")
    parser = argparse.ArgumentParser(prog=name, description=WAYS[how].__doc__)
    cli.add_rollout_arguments(parser)
    args = parser.parse_args(argv)

    def roll_out() -> None:
        target = release_from(args)
        cli.report_tools(cli.helm_tool(), cli.kubectl_tool())
        WAYS[how](target, dry_run=args.dry_run)
        if not args.dry_run:
            print(f"done: {how} of {shlex.quote(args.release)} in {args.namespace}")

    return cli.run_main(name, roll_out)


if __name__ == "__main__":
    sys.exit(main())
