"""The README's main job: render the chart as both kinds and summarise what would be deployed.

python -m harness.demo [--namespace NS] [--release NAME] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import yaml

from harness.proc import CommandError
from harness.render import (
    CHART_DIR,
    DEFAULT_NAMESPACE,
    DEFAULT_RELEASE,
    WORKLOAD_KINDS,
    Manifests,
    Obj,
    parse_set_args,
    render,
)


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", default=DEFAULT_NAMESPACE)
    parser.add_argument("--release", default=DEFAULT_RELEASE)
    parser.add_argument(
        "--set",
        dest="set_values",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a chart value, as with helm --set",
    )
    args = parser.parse_args(argv)
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    print(
        f"chart {chart['name']} {chart['version']} (app {chart['appVersion']}), "
        f"release {args.release} in namespace {args.namespace}"
    )
    for kind in WORKLOAD_KINDS:
        values = {**parse_set_args(args.set_values), "workload.kind": kind}
        print(f"\n== workload.kind={kind}")
        try:
            manifests = render(set=values, release=args.release, namespace=args.namespace)
        except CommandError as error:
            print(error.stderr.strip(), file=sys.stderr)
            return 1
        for line in describe(manifests):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
