"""The README's main job: install the chart with image 1.0.0, upgrade it to 1.5.0 and show the
finished rollout, once as a Deployment and once as a StatefulSet.

python -m harness.demo [--namespace-prefix NS] [--release NAME] [--set KEY=VALUE ...]
                       [--kubeconfig FILE] [--render-only]

It deploys into the project's local cluster (harness.cluster), which it starts when needed and
leaves running for a look around; `python -m harness.cluster down` stops it. There the app
really runs: the image is built from the Dockerfile, pushed as 1.0.0 and 1.5.0 to the
cluster's registry, pulled by the real node with the chart's pull secret, and each version
answers through its Service. The chart itself goes the way a release does: packaged, signed
with a key made for the run (.tools/scratch/demo-signing, never kept in the repository),
pushed to the cluster's registry under oci://…/oe-tools/charts, and installed from there
with `--verify` against that key (harness.ops.release_chart, harness.ops.chartref). An
existing
cluster is used only when --kubeconfig names it: a KUBECONFIG in the environment is ignored, so
the demo never lands on a shared cluster by accident. Each kind gets its own namespace,
<prefix>-deployment and <prefix>-statefulset. Installs and upgrades go through
harness.ops.deploy, the code behind scripts/deploy. --render-only prints what would be deployed
without any cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import yaml

from harness.chart.render import (
    CHART_DIR,
    DEFAULT_RELEASE,
    WORKLOAD_KINDS,
    Manifests,
    render,
)
from harness.chart.signing import make_cosign_key, make_key
from harness.cluster.local import ClusterError, LocalCluster
from harness.cluster.registry import USERNAME
from harness.cluster.target import Target, add_kubeconfig_argument, target_cluster
from harness.container.publish import TAGS, publish_images
from harness.core.objects import Obj, label_selector
from harness.core.proc import CommandError, run
from harness.core.tools import SCRATCH_DIR, tool_path
from harness.ops import chartref, cli, cosign, deploy
from harness.ops.cli import parse_set_args
from harness.ops.release_chart import Release, package, push

TIMEOUT = "5m"
SIGNER = "dfa-demo-release@example.invalid"
SIGNING_DIR = SCRATCH_DIR / "demo-signing"
REGISTRY_CONFIG = "HELM_REGISTRY_CONFIG"


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


@contextlib.contextmanager
def own_release_environment() -> Iterator[None]:
    """For the block, helm keeps registry logins in a config of the demo's own, so the
    user's is never touched, and cosign unlocks the demo's key (made without a password);
    as they were after."""
    ours = {REGISTRY_CONFIG: str(SIGNING_DIR / "registry.json"), "COSIGN_PASSWORD": ""}
    before = {name: os.environ.get(name) for name in ours}
    os.environ.update(ours)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def publish_chart(local: LocalCluster) -> chartref.ChartSource:
    """The chart released to the local cluster's registry, signed with keys made now (GPG
    provenance and cosign); where to install it from, verified against both. Run inside
    `own_release_environment`."""
    secret, public = make_key(SIGNING_DIR / "gnupg", SIGNER)
    cosign_secret, cosign_public = make_cosign_key(SIGNING_DIR / "cosign")
    helm, host = tool_path("helm"), local.registry_address
    login = [helm, "registry", "login", host, "--plain-http", "--username", USERNAME]
    run([*login, "--password-stdin"], input=local.node.registry.password)
    release = Release(CHART_DIR, f"oci://{host}/oe-tools/charts", SIGNER, secret, True)
    version = str(release.metadata["version"])
    with tempfile.TemporaryDirectory(prefix="demo-chart-") as folder:
        digest = push(helm, release, package(helm, release, Path(folder)))
    name = cosign.oci_name(release.reference, digest)
    cosign.sign(tool_path("cosign"), helm, name, cosign_secret, plain_http=True)
    print(f"chart pushed to {release.reference}:{version} ({digest}), signed by {SIGNER}")
    print(f"and by the cosign key {cosign_public}")
    return chartref.ChartSource(
        release.reference, version, True, public, plain_http=True, cosign_key=cosign_public
    )


def roll_out(
    target: Target, release: str, namespace: str, values: Mapping[str, str], chart: Path
) -> None:
    """Deploy `chart` with harness.ops.deploy, printing each command and the rollout's own
    report, then the pods and, on the local cluster, the Service's answers."""
    kube = target.kube
    rollout = deploy.DeployRequest(release, namespace, set=values, chart=chart, timeout=TIMEOUT)
    manifests = render(set=values, release=release, namespace=namespace, chart=chart)
    for command in deploy.commands(rollout, tool_path("helm"), tool_path("kubectl")):
        print(f"  + {shlex.join([Path(command[0]).name, *command[1:]])}", flush=True)
        out = kube.run(command).stdout
        if "rollout" in command:
            print("".join(f"    {line}\n" for line in out.strip().splitlines()), end="")
    workload = manifests.workload
    selector = label_selector(workload["spec"]["selector"]["matchLabels"])
    image = workload["spec"]["template"]["spec"]["containers"][0]["image"]
    pods = kube.settled_pods(namespace, selector, image, workload["spec"]["replicas"])
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        name, status = pod["metadata"]["name"], pod["status"]
        where = f"{pod['spec']['nodeName']} at {status.get('podIP', '-')}"
        print(f"    pod {name}: {status['phase']} on {where}, {image}")
    if target.local is not None:
        service = manifests.get("Service", workload["metadata"]["name"])
        address = kube.get("service", service["metadata"]["name"], namespace)["spec"]["clusterIP"]
        for path in ("/", "/_health"):
            url = f"http://{address}:{service['spec']['ports'][0]['port']}{path}"
            status, body = target.local.http_get(url)
            print(f"    GET {url} -> {status} {body!r}")


def deploy_both_kinds(args: argparse.Namespace, target: Target | None, chart: Path) -> None:
    """Each kind in its namespace: what the chart renders, then (with a target) each image
    tag rolled out in turn."""
    for kind in WORKLOAD_KINDS:
        namespace = f"{args.namespace_prefix}-{kind.lower()}"
        values = {**parse_set_args(args.set_values), "workload.kind": kind}
        print(f"\n== {kind}: release {args.release} in namespace {namespace}")
        print("  the chart renders:")
        for line in describe(
            render(set=values, release=args.release, namespace=namespace, chart=chart)
        ):
            print(f"    {line}")
        if target is None:
            continue
        if target.local is not None:
            target.local.allow_pulls(namespace)
        for tag in TAGS:
            print(f"  -- image.tag={tag}")
            roll_out(target, args.release, namespace, {**values, "image.tag": tag}, chart)


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
    metadata = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    print(f"chart {metadata['name']} {metadata['version']} (app {metadata['appVersion']})")
    try:
        target = None if args.render_only else target_cluster(args.kubeconfig)
        with own_release_environment():
            source = chartref.ChartSource()
            if target is not None and target.local is not None:
                publish_images(target.local)
                source = publish_chart(target.local)
            with chartref.local_chart(source, tool_path("helm")) as chart:
                deploy_both_kinds(args, target, chart)
    except CommandError as error:
        print(error if error.stderr.strip() == "" else error.stderr.strip(), file=sys.stderr)
        return 1
    except (ClusterError, *cli.EXPECTED) as error:
        print(f"error: {cli.one_line(error)}", file=sys.stderr)
        return 1
    if target is not None and target.local is not None:
        print(
            "\nThe local cluster keeps running: "
            "`.tools/venv/bin/python -m harness.cluster down` stops it."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
