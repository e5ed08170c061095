"""Rollouts that respect a fixed IP pool: the two-phase way and the switches of kind.

    scripts/rollout-two-phase      [scripts/deploy's options]
    scripts/migrate-to-statefulset [scripts/deploy's options] [--yes]
    scripts/migrate-to-deployment  [scripts/deploy's options] [--yes]

(`python -m harness.ops.pool_rollouts two-phase|to-statefulset|to-deployment ...` without the
scripts.)

two-phase: upgrade once with `ipool.enabled=false` and wait, so new pods need no IP and the
old pods' IPs are freed as they go; then upgrade again with `ipool.enabled=true` and wait.
Public IPs are down from the first rollout until the second has finished.

to-statefulset, to-deployment: hand the release's pods over to a workload of the other kind
one pod, and one IP, at a time, then let the release adopt it (harness.ops.handover): at
least replicaCount - 1 pods stay Ready, and a pod that does not become Ready rolls the
hand-over back. A plain `helm upgrade --set workload.kind=...` also completes, but with a
few seconds without a Ready pod.

All take helm's own options (harness.ops.cli), and the cluster and namespace are chosen as
helm chooses them (harness.ops.kubeconfig).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence

from harness.core.tools import tool_path
from harness.ops import cli
from harness.ops.deploy import (
    DeployRequest,
    commands,
    described,
    exclusive,
    execute,
    refuse_unmeant_kind_switch,
    stall_watch,
    values_of,
)
from harness.ops.handover import switch_kind
from harness.ops.kubectl import Kubectl


def two_phase(
    target: DeployRequest, env: Mapping[str, str] | None = None, dry_run: bool = False
) -> None:
    """Roll out once without the pool annotation, so that new pods need no IP, then again
    with it; the pods have no public IP from the first rollout until the second ends."""
    helm, kubectl = tool_path("helm"), tool_path("kubectl")
    if not dry_run:
        namespace = Kubectl(kubectl, target.namespace, env)
        refuse_unmeant_kind_switch(target, target.manifests(helm).workload, namespace)
    for phase, enabled in (("1/2: without public IPs", "false"), ("2/2: with public IPs", "true")):
        print(f"== phase {phase} (ipool.enabled={enabled})", flush=True)
        phase_target = target.with_set(**{"ipool.enabled": enabled})
        planned = commands(phase_target, helm, kubectl)
        watch = stall_watch(phase_target, helm, kubectl, env)
        execute(planned, env, dry_run, watch, target.deadline)


def to_statefulset(
    target: DeployRequest,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    confirm: Callable[[Sequence[str]], None] = lambda deleted: None,
) -> None:
    """Hand the release's Deployment pods over to a StatefulSet one pod, and one IP, at a
    time, then let the release adopt it; helm then deletes the Deployment."""
    switch_kind(
        target, "StatefulSet", tool_path("helm"), tool_path("kubectl"), env, dry_run, confirm
    )


def to_deployment(
    target: DeployRequest,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    confirm: Callable[[Sequence[str]], None] = lambda deleted: None,
) -> None:
    """Hand the release's StatefulSet pods over to a Deployment one pod, and one IP, at a
    time, then let the release adopt it; helm then deletes the StatefulSet."""
    switch_kind(
        target, "Deployment", tool_path("helm"), tool_path("kubectl"), env, dry_run, confirm
    )


WAYS = {"two-phase": two_phase, "to-statefulset": to_statefulset, "to-deployment": to_deployment}
MIGRATIONS = {"to-statefulset": "the Deployment", "to-deployment": "the StatefulSet"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    how = argv.pop(0) if argv and argv[0] in WAYS else None
    if how is None:
        module = "python -m harness.ops.pool_rollouts"
        print(
            f"{module}: error: the first argument must be one of {', '.join(WAYS)}", file=sys.stderr
        )
        return 2
    name = cli.prog(f"harness.ops.pool_rollouts {how}")
    parser = argparse.ArgumentParser(
        prog=name, description=" ".join(WAYS[how].__doc__.split()), epilog=cli.EXIT_CODES
    )
    deletes = MIGRATIONS.get(how, "")
    if deletes:
        deletes = f"{deletes} (at 0 replicas) once its pods are handed over"
    cli.add_rollout_arguments(parser, deletes=deletes)
    args = parser.parse_args(argv)

    def roll_out() -> None:
        helm, kubectl = cli.helm_tool(), cli.kubectl_tool()
        cli.report_tools(helm, kubectl)
        with described(args, helm.path) as given:
            if args.dry_run:
                WAYS[how](given, dry_run=True)
                return
            Kubectl(kubectl.path, given.namespace).ensure_namespace()
            extra = {"confirm": lambda d: cli.confirm(name, d, args.yes)} if deletes else {}
            with (
                values_of(args, given, helm.path) as target,
                exclusive(target, helm.path, kubectl.path, cli.command_line(name, argv)),
            ):
                WAYS[how](target, **extra)
            print(f"done: {how} of {shlex.quote(given.release)} in {given.namespace}")

    return cli.run_main(name, roll_out)


if __name__ == "__main__":
    sys.exit(main())
