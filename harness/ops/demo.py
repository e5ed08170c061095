"""The README's main job: install the chart with image 1.0.0, upgrade it to 1.5.0 and show the
finished rollout, once as a Deployment and once as a StatefulSet.

python -m harness.ops.demo [--namespace-prefix NS] [--release NAME] [--set KEY=VALUE ...]
                       [--kubeconfig FILE] [--render-only]

It deploys into the project's local cluster (harness.cluster), which it starts when needed and
leaves running for a look around; `python -m harness.cluster down` stops it. An existing
cluster is used only when --kubeconfig names it: a KUBECONFIG in the environment is ignored, so
the demo never lands on a shared cluster by accident. Each kind gets its own namespace,
<prefix>-deployment and <prefix>-statefulset. Installs and upgrades go through
harness.ops.deploy, the code behind scripts/deploy. --render-only prints what would be deployed
without any cluster.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from harness.chart.render import (
    CHART_DIR,
    DEFAULT_RELEASE,
    WORKLOAD_KINDS,
    Manifests,
    render,
)
from harness.cluster.local import ClusterError
from harness.cluster.target import add_kubeconfig_argument, target_cluster
from harness.core.objects import Obj
from harness.core.proc import CommandError
from harness.core.tools import tool_path
from harness.kube.client import Kube
from harness.ops import cli, deploy
from harness.ops.cli import parse_set_args

TAGS = ("1.0.0", "1.5.0")
TIMEOUT = "5m"


def describe(manifests: Manifests) -> list[str]:
    """One line per object that matters to an operator."""
    lines = []
    for obj in manifests:
        kind, name = obj["kind"], obj["metadata"]["name"]
        spec = obj.get("spec", {})
        if kind in WORKLOAD_KINDS:
            lines.append(
                f"{kind}/{name}: {spec['replicas']} replicas of {_image(obj)}, {_rollout(obj)}"
            )
            annotations = spec["template"]["metadata"].get("annotations", {})
            pool = ", ".join(f"{k}={v}" for k, v in annotations.items()) or "none"
            lines.append(f"  pod annotations: {pool}")
        elif kind == "Service":
            ports = ", ".join(f"{p['port']}->{p['targetPort']}" for p in spec["ports"])
            flavour = (
                "headless" if spec.get("clusterIP") == "None" else spec.get("type", "ClusterIP")
            )
            lines.append(f"Service/{name}: {flavour}, ports {ports}")
        else:
            hook = obj["metadata"].get("annotations", {}).get("helm.sh/hook")
            lines.append(f"{kind}/{name}" + (f" (helm {hook} hook)" if hook else ""))
    return lines


def _image(workload: Obj) -> str:
    return workload["spec"]["template"]["spec"]["containers"][0]["image"]


def _rollout(workload: Obj) -> str:
    spec = workload["spec"]
    if workload["kind"] == "StatefulSet":
        update = spec.get("updateStrategy", {}).get("type", "RollingUpdate")
        return (
            f"updateStrategy {update}, podManagementPolicy {spec['podManagementPolicy']}, "
            f"serviceName {spec['serviceName']}"
        )
    strategy = spec.get("strategy")
    return f"strategy {strategy}" if strategy else "Kubernetes' default rolling update (25%/25%)"


def roll_out(kube: Kube, release: str, namespace: str, values: Mapping[str, str]) -> None:
    """Deploy with harness.ops.deploy, printing each command and the rollout's own report."""
    target = deploy.Release(release, namespace, set=values, timeout=TIMEOUT)
    manifests = render(set=values, release=release, namespace=namespace)
    for command in deploy.commands(target, tool_path("helm"), tool_path("kubectl")):
        print(f"  + {shlex.join([Path(command[0]).name, *command[1:]])}", flush=True)
        out = kube.run(command).stdout
        if "rollout" in command:
            print("".join(f"    {line}\n" for line in out.strip().splitlines()), end="")
    workload = manifests.workload
    labels = workload["spec"]["selector"]["matchLabels"]
    selector = ",".join(f"{key}={value}" for key, value in labels.items())
    image = workload["spec"]["template"]["spec"]["containers"][0]["image"]
    pods = kube.settled_pods(namespace, selector, image, workload["spec"]["replicas"])
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        print(f"    pod {pod['metadata']['name']}: {pod['status']['phase']}, {image}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace-prefix", default="demo", metavar="NS")
    parser.add_argument("--release", default=DEFAULT_RELEASE)
    parser.add_argument(
        "--set",
        dest="set_values",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a chart value, as with helm --set",
    )
    add_kubeconfig_argument(parser, "deploy into")
    parser.add_argument(
        "--render-only", action="store_true", help="print the summary; touch no cluster"
    )
    args = parser.parse_args(argv)
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    print(f"chart {chart['name']} {chart['version']} (app {chart['appVersion']})")
    try:
        kube = None if args.render_only else target_cluster(args.kubeconfig)
        for kind in WORKLOAD_KINDS:
            namespace = f"{args.namespace_prefix}-{kind.lower()}"
            values = {**parse_set_args(args.set_values), "workload.kind": kind}
            print(f"\n== {kind}: release {args.release} in namespace {namespace}")
            print("  the chart renders:")
            for line in describe(render(set=values, release=args.release, namespace=namespace)):
                print(f"    {line}")
            if kube is None:
                continue
            for tag in TAGS:
                print(f"  -- image.tag={tag}")
                roll_out(kube, args.release, namespace, {**values, "image.tag": tag})
    except CommandError as error:
        print(error if error.stderr.strip() == "" else error.stderr.strip(), file=sys.stderr)
        return 1
    except (ClusterError, *cli.EXPECTED) as error:
        print(f"error: {cli.one_line(error)}", file=sys.stderr)
        return 1
    if kube is not None and args.kubeconfig is None:
        print(
            "\nThe local cluster keeps running: "
            "`.tools/venv/bin/python -m harness.cluster down` stops it."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
