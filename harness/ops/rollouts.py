"""Rollouts that respect a fixed IP pool: the two-phase way and the switches of kind.

    scripts/rollout-two-phase      [-n NAMESPACE] [--release NAME] [-f FILE ...] [--set K=V ...]
                                   [--timeout 10m] [--stall-timeout 30s] [--dry-run]
    scripts/migrate-to-statefulset (the same options)
    scripts/migrate-to-deployment  (the same options)

(`python -m harness.ops.rollouts two-phase|to-statefulset|to-deployment ...` without the
scripts.)

two-phase: upgrade once with `ipool.enabled=false` and wait, so new pods need no IP and the
old pods' IPs are freed as they go; then upgrade again with `ipool.enabled=true` and wait.
Public IPs are down from the first rollout until the second has finished.

to-statefulset, to-deployment: hand the release's pods over to a workload of the other kind
one pod, and one IP, at a time, then let the release adopt it (harness.ops.handover): at
least replicaCount - 1 pods stay Ready, and a pod that does not become Ready rolls the
hand-over back. A plain `helm upgrade --set workload.kind=...` also completes, but with a
few seconds without a Ready pod.

All take helm's own -f/--set and talk to the cluster in KUBECONFIG.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace

from harness.core.tools import tool_path
from harness.ops import cli
from harness.ops.deploy import (
    Release,
    commands,
    exclusive,
    execute,
    refuse_unmeant_kind_switch,
    release_from,
    stall_watch,
    values_of,
)
from harness.ops.handover import switch_kind
from harness.ops.kubectl import Kubectl


def _with(target: Release, **values: str) -> Release:
    return replace(target, set={**(target.set or {}), **values})


def two_phase(target: Release, env: Mapping[str, str] | None = None, dry_run: bool = False) -> None:
    """Roll out without the pool annotation, then with it."""
    helm, kubectl = tool_path("helm"), tool_path("kubectl")
    if not dry_run:
        namespace = Kubectl(kubectl, target.namespace, env)
        refuse_unmeant_kind_switch(target, target.manifests(helm).workload, namespace)
    for phase, enabled in (("1/2: without public IPs", "false"), ("2/2: with public IPs", "true")):
        print(f"== phase {phase} (ipool.enabled={enabled})", flush=True)
        phase_target = _with(target, **{"ipool.enabled": enabled})
        planned = commands(phase_target, helm, kubectl)
        execute(planned, env, dry_run, stall_watch(phase_target, helm, kubectl, env))


def to_statefulset(
    target: Release, env: Mapping[str, str] | None = None, dry_run: bool = False
) -> None:
    """Hand the Deployment's pods over to a StatefulSet one at a time (harness.ops.handover)."""
    switch_kind(target, "StatefulSet", tool_path("helm"), tool_path("kubectl"), env, dry_run)


def to_deployment(
    target: Release, env: Mapping[str, str] | None = None, dry_run: bool = False
) -> None:
    """Hand the StatefulSet's pods over to a Deployment one at a time (harness.ops.handover)."""
    switch_kind(target, "Deployment", tool_path("helm"), tool_path("kubectl"), env, dry_run)


WAYS = {"two-phase": two_phase, "to-statefulset": to_statefulset, "to-deployment": to_deployment}


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
    parser = argparse.ArgumentParser(
        prog=name, description=WAYS[how].__doc__, epilog=cli.EXIT_CODES
    )
    cli.add_rollout_arguments(parser)
    args = parser.parse_args(argv)

    def roll_out() -> None:
        given = release_from(args)
        helm, kubectl = cli.helm_tool(), cli.kubectl_tool()
        cli.report_tools(helm, kubectl)
        if args.dry_run:
            WAYS[how](given, dry_run=True)
            return
        Kubectl(kubectl.path, given.namespace).ensure_namespace()
        with (
            values_of(args, given, helm.path) as target,
            exclusive(target, helm.path, kubectl.path, cli.command_line(name, argv)),
        ):
            WAYS[how](target)
        print(f"done: {how} of {shlex.quote(args.release)} in {args.namespace}")

    return cli.run_main(name, roll_out)


if __name__ == "__main__":
    sys.exit(main())
