"""Bring the release back to full strength after a node died under it.

    scripts/recover-node NODE [-n NAMESPACE] [--release NAME] [--kubeconfig FILE]
                              [--kube-context NAME] [--timeout 10m] [--yes] [--dry-run]

A pod keeps its pool IP until the pod object is gone, and the pods of a node that lost power
are never gone by themselves: the kubelet that would confirm their end is dead with the node.
They stay Terminating, a StatefulSet never replaces them (at most one pod per identity), and
a Deployment's replacements wait for IPs the dead pods still hold. This command:

1. refuses while NODE still heartbeats (its Lease in kube-node-lease is fresh) or is Ready:
   a node that is only slow would run its pods twice;
2. lists the release's pods on NODE and the pool IPs they hold;
3. after confirmation, taints NODE `node.kubernetes.io/out-of-service=nodeshutdown:NoExecute`,
   Kubernetes' non-graceful node shutdown (GA since 1.28): the control plane force-deletes
   every pod on NODE that does not tolerate the taint, the release's and any other's, which
   frees their IPs;
4. waits until the release's workload has all its replicas Ready again;
5. says how to lift the taint once NODE is back.

Unlike the other scripts it needs cluster rights, on nodes: read them and their Leases, and
patch them. A namespace operator's identity (scripts/operator-rbac.yaml) has none, and the
command says so in one line. A rerun after an interruption goes on from where it stopped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.chart.render import DEFAULT_RELEASE
from harness.core.objects import Obj, has_condition, label_selector
from harness.core.retry import wait_for
from harness.ops import cli, kubeconfig
from harness.ops.kubectl import Kubectl

OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
TAINT = f"{OUT_OF_SERVICE}=nodeshutdown:NoExecute"
LEASES = "kube-node-lease"
POOL_ANNOTATION = "quantil.com/ipool"
POLL_S = 2.0


@dataclass(frozen=True)
class StuckPod:
    name: str
    pool: str
    ip: str
    terminating: bool

    def __str__(self) -> str:
        held = f"holds {self.ip or 'no IP'} of pool {self.pool}" if self.pool else "no pool"
        return (
            f"pod {self.name} ({'Terminating' if self.terminating else 'not terminating'}; {held})"
        )


def check_rights(nodes: Kubectl, node_leases: Kubectl) -> None:
    """Forbidden, in one line, unless the identity may read and patch nodes and read their
    Leases: cluster rights, which no namespace operator holds."""
    rights = ((nodes, "get", "nodes"), (nodes, "patch", "nodes"), (node_leases, "get", "leases"))
    missing = [f"{verb} {what}" for where, verb, what in rights if not where.can_i(verb, what)]
    if missing:
        raise cli.Forbidden(
            f"recovering a node needs cluster rights this identity lacks ({', '.join(missing)};"
            f" leases in {LEASES}): ask a cluster admin to run it; a namespace operator's"
            " rights (scripts/operator-rbac.yaml) stop at the namespace"
        )


def heartbeat_age(lease: Obj | None, now: dt.datetime) -> float | None:
    """Seconds since the node's kubelet last renewed its Lease (None: never, or no Lease)."""
    renewed = (lease or {}).get("spec", {}).get("renewTime")
    if not renewed:
        return None
    return (now - dt.datetime.fromisoformat(renewed.replace("Z", "+00:00"))).total_seconds()


def check_down(node: Obj, lease: Obj | None, now: dt.datetime) -> None:
    """Refused unless the node is down: its heartbeat stale and not Ready."""
    name = node["metadata"]["name"]
    age = heartbeat_age(lease, now)
    duration = (lease or {}).get("spec", {}).get("leaseDurationSeconds", 40)
    if age is not None and age < duration:
        raise cli.Refused(
            f"node {name} still heartbeats (its Lease was renewed {age:.0f} s ago, within its"
            f" {duration} s): it may only be slow, and its pods would run twice; nothing was"
            " changed"
        )
    if has_condition(node, "Ready"):
        raise cli.Refused(f"node {name} is Ready; nothing was changed")


def is_out_of_service(node: Obj) -> bool:
    return any(t.get("key") == OUT_OF_SERVICE for t in node["spec"].get("taints", []))


def stuck_pods(pods: Sequence[Obj], node: str) -> list[StuckPod]:
    """The pods of `pods` that run on `node`, with the pool IPs they hold."""
    stuck = []
    for pod in pods:
        if pod["spec"].get("nodeName") != node:
            continue
        annotations = pod["metadata"].get("annotations", {})
        # The platform writes the IP it gave under a key of its own: any annotation whose
        # value is an IP address is taken for it.
        ip = next((value for value in annotations.values() if _is_ip(value)), "")
        stuck.append(
            StuckPod(
                pod["metadata"]["name"],
                annotations.get(POOL_ANNOTATION, ""),
                ip,
                "deletionTimestamp" in pod["metadata"],
            )
        )
    return stuck


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def full_strength(workloads: Sequence[Obj]) -> bool:
    return bool(workloads) and all(
        w["status"].get("readyReplicas", 0) >= w["spec"].get("replicas", 1)
        and w["status"].get("observedGeneration", 0) >= w["metadata"]["generation"]
        for w in workloads
    )


def recover(
    node_name: str,
    release: str,
    namespace: str,
    kubectl_path: Path,
    deadline: cli.Deadline,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    confirm: Callable[[Sequence[str]], None] = lambda deleted: None,
) -> list[StuckPod]:
    """The module doc's steps; returns the pods it found stuck on the node."""
    nodes = Kubectl(kubectl_path, namespace, env)
    check_rights(nodes, Kubectl(kubectl_path, LEASES, env))
    node = nodes.get(f"node/{node_name}")
    if node is None:
        raise cli.Refused(f"there is no node {node_name}; `kubectl get nodes` lists them")
    selector = label_selector(
        {"app.kubernetes.io/name": "dummy-flask-app", "app.kubernetes.io/instance": release}
    )
    stuck = stuck_pods(nodes.items("pods", "--selector", selector), node_name)
    for pod in stuck:
        print(f"stuck on {node_name}: {pod}", flush=True)
    if not stuck:
        print(f"no pod of release {release} in {namespace} is on {node_name}", flush=True)
    if not is_out_of_service(node):
        lease = Kubectl(kubectl_path, LEASES, env).get(f"lease/{node_name}")
        check_down(node, lease, dt.datetime.now(dt.UTC))
        if dry_run:
            print(f"would run: kubectl taint nodes {node_name} {TAINT}")
            return stuck
        confirm([f"every pod on node {node_name} that does not tolerate {OUT_OF_SERVICE}"])
        print(f"== taint {node_name} {TAINT}", flush=True)
        nodes("taint", "nodes", node_name, TAINT, "--overwrite")
    elif dry_run:
        return stuck
    else:
        print(f"== {node_name} is already out of service (an earlier run tainted it)", flush=True)

    def recovered() -> bool:
        pods = nodes.items("pods", "--selector", selector)
        workloads = [
            *nodes.items("deployments", "--selector", selector),
            *nodes.items("statefulsets", "--selector", selector),
        ]
        return not stuck_pods(pods, node_name) and full_strength(workloads)

    began = time.monotonic()
    wait_for(
        recovered,
        f"release {release} in {namespace} to be back at full strength",
        deadline.seconds_left(),
        POLL_S,
    )
    print(f"== release {release} is back at full strength in {time.monotonic() - began:.0f} s")
    return stuck


def main(argv: Sequence[str] | None = None) -> int:
    name = cli.prog("harness.ops.recover_node")
    parser = argparse.ArgumentParser(
        prog=name, description=__doc__.split("\n\n")[0], epilog=cli.EXIT_CODES
    )
    parser.add_argument("node", metavar="NODE", help="the node that died")
    parser.add_argument(
        "--release", default=DEFAULT_RELEASE, help=f"release name (default {DEFAULT_RELEASE})"
    )
    parser.add_argument(
        "--namespace",
        "-n",
        help="the release's namespace (default: the kube context's namespace, else `default`)",
    )
    parser.add_argument("--kubeconfig", type=Path, metavar="FILE", help="the kubeconfig to use")
    parser.add_argument("--kube-context", metavar="NAME", help="the kubeconfig context to use")
    parser.add_argument(
        "--timeout",
        default=cli.DEFAULT_TIMEOUT,
        type=cli.duration_argument,
        help=f"how long to wait for full strength (default {cli.DEFAULT_TIMEOUT})",
    )
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="taint without asking (the taint force-deletes every pod on the node)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what it would do; change nothing"
    )
    args = parser.parse_args(argv)

    def run() -> None:
        kubectl = cli.kubectl_tool()
        cli.report_tools(kubectl)
        deadline = cli.Deadline.start(args.timeout)
        with kubeconfig.selected(args.namespace, args.kubeconfig, args.kube_context) as ns:
            recover(
                args.node,
                args.release,
                ns,
                kubectl.path,
                deadline,
                dry_run=args.dry_run,
                confirm=lambda deleted: cli.confirm(name, deleted, args.yes),
            )
        if not args.dry_run:
            print(
                f"once {args.node} is back and healthy, let it take pods again: kubectl taint"
                f" nodes {args.node} {OUT_OF_SERVICE}-"
            )

    return cli.run_main(name, run)


if __name__ == "__main__":
    sys.exit(main())
