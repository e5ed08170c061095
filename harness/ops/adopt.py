"""Bring this app's hand-made objects, deployed with kubectl, under a release of this chart.

    scripts/adopt-unmanaged [-n NAMESPACE] [--release NAME] [-f FILE ...] [--set K=V ...]
                            [--to StatefulSet|Deployment] [--timeout 10m] [--yes] [--dry-run]

What it recognises: a Deployment or a StatefulSet named `dummy-flask-app` whose selector is
exactly `app: dummy-flask-app` and that carries no Helm release annotation, and Services of
that name and selector, in the namespace and in `default` (where a Service applied without a
namespace lands in most contexts). That is what operators applied by hand before the chart
(the manifests of the operations write-up this project started from). Nothing else is
touched.

Selectors are immutable and the names are the chart's own, so the release cannot take these
objects over in place. Instead the pods are handed over (harness.ops.handover) to the
release's workload of the *other* kind, whose name does not clash, one pod and one IP at a
time; once every new pod is Ready the hand-made workload (now at 0 replicas) and its
Services are deleted and the release is installed, adopting the new workload as it is. When
`--to` asks for the kind the hand-made workload was, a second hand-over switches the release
to it. The script ends by saying what it removed and what it left.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.core.objects import Obj
from harness.ops import cli
from harness.ops.deploy import DeployRequest, described, exclusive, values_of
from harness.ops.handover import KINDS, hand_over, release_of, switch_kind
from harness.ops.kubectl import Kubectl

NAME = "dummy-flask-app"
SELECTOR = {"app": "dummy-flask-app"}
HELM_RELEASE = "meta.helm.sh/release-name"
DOCKER_CONFIG = "kubernetes.io/dockerconfigjson"


def _hand_made(objects: Sequence[Obj]) -> list[Obj]:
    """The objects made by hand for this app: its name and selector, unknown to Helm."""
    return [
        obj
        for obj in objects
        if obj["metadata"]["name"] == NAME
        and HELM_RELEASE not in obj["metadata"].get("annotations", {})
        and (obj["spec"].get("selector", {}).get("matchLabels") or obj["spec"].get("selector"))
        == SELECTOR
    ]


def find_workload(kubectl: Kubectl) -> Obj | None:
    """The hand-made Deployment or StatefulSet, or None when there is neither."""
    found = _hand_made([*kubectl.items("deployments"), *kubectl.items("statefulsets")])
    if len(found) > 1:
        raise cli.Refused(
            f"found both a Deployment and a StatefulSet {NAME} (selector app={NAME}, not "
            f"managed by Helm) in {kubectl.namespace}; adopt one: delete the other first"
        )
    return found[0] if found else None


def release_kind(kubectl: Kubectl, release: str) -> str | None:
    """The kind of the workload `release` runs as, when it has one."""
    for kind in KINDS:
        live = kubectl.get(f"{kind.lower()}/{NAME}")
        if live is not None and release_of(live) == release:
            return kind
    return None


def adopt(
    target: DeployRequest,
    to_kind: str,
    helm: Path,
    kubectl_path: Path,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    confirm: Callable[[Sequence[str]], None] = lambda deleted: None,
) -> tuple[list[str], list[str]]:
    """The module doc's steps, once `confirm` was told what will be deleted; returns what was
    removed, and what hand-made was left because this identity may not touch it (with the
    command that removes it). A rerun after an interruption at any point takes up where the
    objects stand."""
    kubectl = Kubectl(kubectl_path, target.namespace, env)
    old = find_workload(kubectl)
    removed: list[str] = []
    left: list[str] = []
    if old is None:
        # Nothing hand-made runs: either there was none, or an earlier run got as far
        # as deleting it, after the release owned the pods.
        adopted = release_kind(kubectl, target.release)
        if adopted is None:
            raise cli.Refused(
                f"expected a hand-made Deployment or StatefulSet {NAME} (selector "
                f"app={NAME}, not managed by Helm) in {kubectl.namespace}, found neither, nor "
                f"a release {target.release} that adopted it"
            )
        print(f"== release {target.release} already runs the app as a {adopted}", flush=True)
        if adopted != to_kind:
            switch_kind(target, to_kind, helm, kubectl_path, env, dry_run)
        return removed, left
    via = KINDS[1 - KINDS.index(old["kind"])]
    if not dry_run:
        confirm(
            [
                f"{old['kind'].lower()}/{NAME} in {target.namespace}, after its pods moved",
                f"service/{NAME} in {target.namespace} and in default, if made by hand",
            ]
        )

    def remove_services() -> None:
        # The hand-made Service has the chart's Service's name: it goes before helm runs.
        print("== delete the hand-made Services", flush=True)
        for namespace in dict.fromkeys([target.namespace, "default"]):
            there = Kubectl(kubectl_path, namespace, env)
            try:
                if _hand_made(there.items("services")):
                    there("delete", f"service/{NAME}", "--wait=true")
                    removed.append(f"service/{NAME} in {namespace}")
            except cli.Forbidden:
                # An operator's rights end at their namespace; the Service left by hand
                # in `default` is not in the way of the release, so it waits for an admin.
                left.append(
                    f"service/{NAME} in {namespace} if one was made there by hand (this "
                    f"identity may not read it; a cluster admin checks and removes it: kubectl "
                    f"--namespace {namespace} delete service {NAME})"
                )

    print(f"== the hand-made {old['kind']} {NAME} goes to the release's {via}", flush=True)
    hand_over(target, via, old, helm, kubectl_path, env, dry_run, before_helm=remove_services)
    if not dry_run:
        # Only now that the release owns the new workload: a failure before this point leaves
        # the hand-made workload for the rerun to find.
        resource = f"{old['kind'].lower()}/{NAME}"
        print(f"== delete the hand-made {resource} (0 replicas)", flush=True)
        kubectl("delete", resource, "--wait=true")
        removed.append(f"{resource} in {target.namespace}")
    if to_kind != via:
        print(f"== then the release switches to a {to_kind}", flush=True)
        switch_kind(target, to_kind, helm, kubectl_path, env, dry_run)
    return removed, left


def main(argv: Sequence[str] | None = None) -> int:
    name = cli.prog("harness.ops.adopt")
    parser = argparse.ArgumentParser(
        prog=name,
        description=" ".join([__doc__.splitlines()[0], *__doc__.split("\n\n")[2].split()]),
        epilog=cli.EXIT_CODES,
    )
    cli.add_rollout_arguments(
        parser,
        deletes=f"the hand-made workload {NAME} (at 0 replicas, once its pods are handed over)"
        f" and the hand-made Services {NAME} in the namespace and in default",
    )
    parser.add_argument(
        "--to",
        choices=KINDS,
        default="StatefulSet",
        help="the kind the release ends as (default StatefulSet, for a fixed IP pool)",
    )
    args = parser.parse_args(argv)

    def run() -> None:
        helm, kubectl = cli.helm_tool(), cli.kubectl_tool()
        cli.report_tools(helm, kubectl)
        with described(args, helm.path) as target:
            if args.dry_run:
                adopt(target, args.to, helm.path, kubectl.path, dry_run=True)
                return
            with (
                values_of(args, target, helm.path) as reused,
                exclusive(reused, helm.path, kubectl.path, cli.command_line(name, argv)),
            ):
                removed, left = adopt(
                    reused,
                    args.to,
                    helm.path,
                    kubectl.path,
                    confirm=lambda deleted: cli.confirm(name, deleted, args.yes),
                )
            secrets = Kubectl(kubectl.path, target.namespace).items("secrets")
        pull = [s["metadata"]["name"] for s in secrets if s["type"] == DOCKER_CONFIG]
        print(f"done: release {target.release} runs the app in {target.namespace} as a {args.to}")
        print(f"removed: {', '.join(removed) or 'nothing (an earlier run had)'}")
        print(f"left: pull secrets {', '.join(pull) or 'none'} (the release pulls with them too)")
        for what in left:
            print(f"left: {what}")

    return cli.run_main(name, run)


if __name__ == "__main__":
    sys.exit(main())
