"""The chart's release in one namespace, deployed the way the operator's scripts/deploy does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.chart.render import DEFAULT_RELEASE, helm_chart_args
from harness.core.objects import Obj, names
from harness.core.tools import tool_path
from harness.kube.client import Kube
from harness.ops import deploy

IMAGE = "registry-qcc.quantil.com/oe-tools/dummy-flask-app"
TIMEOUT = "3m"
# Namespace labels that make the API server enforce the restricted Pod Security Standard.
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
# Everything a release of this chart can create, and what Kubernetes derives from it.
KINDS = (
    "deployments,statefulsets,replicasets,controllerrevisions,pods,services,"
    "endpointslices.discovery.k8s.io,poddisruptionbudgets,jobs,secrets,configmaps,"
    "serviceaccounts"
)


@dataclass(frozen=True)
class ReleaseUnderTest:
    kube: Kube
    namespace: str
    name: str = DEFAULT_RELEASE

    @property
    def selector(self) -> str:
        """The chart's selector labels: the app's pods, never the `helm test` pod."""
        return f"app.kubernetes.io/name=dummy-flask-app,app.kubernetes.io/instance={self.name}"

    def deploy(self, values: Mapping[str, object]) -> None:
        """`helm upgrade --install --wait`, then `kubectl rollout status` (harness.ops.deploy)."""
        target = deploy.DeployRequest(
            self.name, self.namespace, set={k: str(v) for k, v in values.items()}, timeout=TIMEOUT
        )
        for command in deploy.commands(target, tool_path("helm"), tool_path("kubectl")):
            self.kube.run(command)

    def upgrade(self, chart: Path, values: Mapping[str, object]) -> None:
        """`helm upgrade --install --wait` of another copy of the chart (e.g. from git)."""
        args = helm_chart_args(
            "upgrade", release=self.name, namespace=self.namespace, chart=chart, set=values
        )
        self.kube.helm(*args, "--install", "--wait", "--timeout", TIMEOUT)

    def helm(self, *args: str, check: bool = True) -> str:
        done = self.kube.helm(*args, "--namespace", self.namespace, check=check)
        return done.stdout + done.stderr

    def rollout_status(self, workload: Obj) -> str:
        resource = f"{workload['kind'].lower()}/{workload['metadata']['name']}"
        return self.kube.kubectl(
            "rollout", "status", resource, "--namespace", self.namespace, "--timeout", TIMEOUT
        )

    def workloads(self) -> list[Obj]:
        return self.kube.objects("deployments,statefulsets", self.namespace, self.selector)

    def workload(self) -> Obj:
        found = self.workloads()
        assert len(found) == 1, f"expected one workload, found {names(found)}"
        return found[0]

    def pods(self) -> list[Obj]:
        """The app's pods, including those still terminating."""
        return self.kube.objects("pods", self.namespace, self.selector)

    def settled_pods(self, tag: str, count: int) -> list[Obj]:
        """Wait until exactly `count` pods exist, all Ready and all running image `tag`."""
        return self.kube.settled_pods(self.namespace, self.selector, f"{IMAGE}:{tag}", count)

    def contents(self) -> set[str]:
        """`Kind/name` of every object in the namespace that a release could have made."""
        return set(names(self.kube.objects(KINDS, self.namespace)))


def _image(pod: Obj) -> str:
    return pod["spec"]["containers"][0]["image"]


def describe_pods(pods: list[Obj]) -> list[tuple[str, str]]:
    return sorted((pod["metadata"]["name"], _image(pod)) for pod in pods)


def owner_kinds(pods: list[Obj]) -> set[str]:
    return {ref["kind"] for pod in pods for ref in pod["metadata"].get("ownerReferences", [])}
