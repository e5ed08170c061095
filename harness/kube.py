"""Run helm and kubectl against one cluster, named by its kubeconfig, and read objects back."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from harness.kubeapi import ApiError
from harness.proc import CommandError, run
from harness.tools import TOOLS_DIR, tool_env, tool_path

Obj = dict[str, Any]

KUBE_CACHE_DIR = TOOLS_DIR / "scratch" / "kube-cache"
KUBECTL_TIMEOUT_S = 60.0
HELM_TIMEOUT_S = 300.0
SETTLE_TIMEOUT_S = 90.0

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition polled by `wait_for` did not hold before its deadline."""


def wait_for(check: Callable[[], T | None], what: str, timeout: float, interval: float = 0.5) -> T:
    """Poll `check` until it returns something truthy, and return that; never a bare sleep.

    A check that raises while the cluster is still in between states (a command fails, a
    field is missing or still null) is polled again. After `timeout` seconds raise
    WaitTimeout naming `what` was waited for and the last value `check` returned, or the
    last error it raised (chained, so its traceback is kept).
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
            last = result
        except (CommandError, ApiError, OSError, ValueError, LookupError, TypeError) as exc:
            result, last = None, exc
        if result:
            return result
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:g} s waiting for {what}; last seen: {last!r}"
            raise WaitTimeout(message) from (last if isinstance(last, Exception) else None)
        time.sleep(interval)


def wait_until_gone(remaining: Callable[[], Collection[object]], what: str, timeout: float) -> None:
    """Poll until `remaining()` is empty; a timeout lists what was still there."""
    left: list[Collection[object]] = []

    def gone() -> bool:
        left[:] = [remaining()]
        return not left[0]

    try:
        wait_for(gone, what, timeout)
    except WaitTimeout as exc:
        raise WaitTimeout(f"{exc}; still there: {sorted(map(str, left[0]))}") from None


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
                and _ready(pod)
                and "deletionTimestamp" not in pod["metadata"]
                for pod in pods
            )
            return pods if ok else None

        what = f"{count} Ready pods of {image} and no other pod ({namespace}, {selector})"
        return wait_for(settled, what, SETTLE_TIMEOUT_S)

    def server_version(self) -> str:
        return json.loads(self.kubectl("get", "--raw", "/version"))["gitVersion"]


def _ready(pod: Obj) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def names(objects: Sequence[Obj]) -> list[str]:
    """`Kind/name` of each object, sorted, for assertions and messages."""
    return sorted(f"{obj['kind']}/{obj['metadata']['name']}" for obj in objects)
