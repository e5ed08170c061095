"""Run helm and kubectl against one cluster, named by its kubeconfig, and read objects back."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.core.objects import Obj, is_ready
from harness.core.proc import run
from harness.core.retry import wait_for
from harness.core.tools import SCRATCH_DIR, tool_env, tool_path

KUBE_CACHE_DIR = SCRATCH_DIR / "kube-cache"
KUBECTL_TIMEOUT_S = 60.0
HELM_TIMEOUT_S = 300.0
SETTLE_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Kube:
    """A cluster reached through `kubeconfig`; every call passes it explicitly."""

    kubeconfig: Path

    def env(self, helm: str = "helm") -> dict[str, str]:
        env = tool_env(helm)
        env["KUBECONFIG"] = str(self.kubeconfig)
        # kubectl's discovery cache would otherwise go to ~/.kube/cache.
        env["KUBECACHEDIR"] = str(KUBE_CACHE_DIR)
        return env

    def run(
        self,
        command: Sequence[str | Path],
        *,
        check: bool = True,
        timeout: float = HELM_TIMEOUT_S,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Any command (helm, kubectl, a harness script) with this cluster's KUBECONFIG."""
        return run(command, env=self.env(), check=check, timeout=timeout, input=input)

    def kubectl(
        self, *args: str, timeout: float = KUBECTL_TIMEOUT_S, input: str | None = None
    ) -> str:
        return self.run([tool_path("kubectl"), *args], timeout=timeout, input=input).stdout

    def helm(
        self, *args: str, check: bool = True, timeout: float = HELM_TIMEOUT_S, helm: str = "helm"
    ) -> subprocess.CompletedProcess[str]:
        return run([tool_path(helm), *args], env=self.env(helm), check=check, timeout=timeout)

    def objects(self, kinds: str, namespace: str, selector: str | None = None) -> list[Obj]:
        """Objects of `kinds` (comma-separated, as kubectl takes them) in `namespace`."""
        args = ["get", kinds, "--namespace", namespace, "--output", "json"]
        if selector:
            args += ["--selector", selector]
        return json.loads(self.kubectl(*args))["items"]

    def get(self, kind: str, name: str, namespace: str) -> Obj | None:
        """One object, or None when it does not exist."""
        out = self.kubectl(
            "get", kind, name, "--namespace", namespace, "--ignore-not-found", "--output", "json"
        )
        return json.loads(out) if out.strip() else None

    def settled_pods(self, namespace: str, selector: str, image: str, count: int) -> list[Obj]:
        """Wait until exactly `count` pods match `selector`, all Ready and running `image`
        (so no pod of an older revision is even terminating); return them."""

        def settled() -> list[Obj] | None:
            pods = self.objects("pods", namespace, selector)
            ok = len(pods) == count and all(
                pod["spec"]["containers"][0]["image"] == image
                and is_ready(pod)
                and "deletionTimestamp" not in pod["metadata"]
                for pod in pods
            )
            return pods if ok else None

        what = f"{count} Ready pods of {image} and no other pod ({namespace}, {selector})"
        return wait_for(settled, what, SETTLE_TIMEOUT_S)

    def server_version(self) -> str:
        return json.loads(self.kubectl("get", "--raw", "/version"))["gitVersion"]
