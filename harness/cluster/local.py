"""A throwaway local Kubernetes cluster: the pinned control plane run by kwokctl, no containers.

    python -m harness.cluster up           # start it (or keep the healthy one running)
    python -m harness.cluster down         # stop it; no process is left behind
    python -m harness.cluster status       # running or not, API server address and version
    python -m harness.cluster kubeconfig   # print the path of its kubeconfig

kwokctl's binary runtime starts etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and the kwok controller as local processes from .tools/bin (nothing is
downloaded) and keeps its state under .tools/scratch/cluster (``KWOK_WORKDIR``); the
kubeconfig is written there too, never to ~/.kube/config. Every listener binds 127.0.0.1.
kwok plays the kubelet of a few fake nodes: pods become Running and Ready without running
any container, and pods owned by a Job complete.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.core.proc import CommandError, run
from harness.core.retry import WaitTimeout, wait_for
from harness.core.tools import TOOLS_DIR, ToolError, tool_env, tool_path
from harness.kube.client import KUBE_CACHE_DIR
from harness.toolchain import controlplane
from harness.toolchain.gotools import GO_DIR

SCRATCH_DIR = TOOLS_DIR / "scratch" / "cluster"
CLUSTER_NAME = "dummy-flask-app"
NODE_COUNT = 2
LOOPBACK = "127.0.0.1"

START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
KWOKCTL_TIMEOUT_S = 300.0


class ClusterError(Exception):
    """The local cluster could not be started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class LocalCluster:
    """The kwokctl cluster whose state lives in ``scratch``."""

    scratch: Path = SCRATCH_DIR
    name: str = CLUSTER_NAME
    nodes: int = NODE_COUNT

    @property
    def workdir(self) -> Path:
        """KWOK_WORKDIR: kwokctl's config, caches and clusters."""
        return self.scratch / "kwok"

    @property
    def cluster_dir(self) -> Path:
        return self.workdir / "clusters" / self.name

    @property
    def kubeconfig(self) -> Path:
        return self.scratch / "kubeconfig"

    def env(self) -> dict[str, str]:
        env = tool_env()
        env["KWOK_WORKDIR"] = str(self.workdir)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["KUBECACHEDIR"] = str(KUBE_CACHE_DIR)
        return env

    def config(self) -> dict[str, object]:
        """kwokctl's configuration, which it reads from $KWOK_WORKDIR/kwok.yaml."""
        return {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokctlConfiguration",
            "options": {
                "runtime": "binary",
                # The default is 0.0.0.0; every component's listener follows this address.
                "bindAddress": LOOPBACK,
                "kubeVersion": controlplane.KUBE_VERSION,
                "etcdVersion": controlplane.ETCD_VERSION.lstrip("v"),
                "kubeApiserverBinary": str(controlplane.binary("kube-apiserver")),
                "kubeControllerManagerBinary": str(controlplane.binary("kube-controller-manager")),
                "kubeSchedulerBinary": str(controlplane.binary("kube-scheduler")),
                "kwokControllerBinary": str(controlplane.binary("kwok")),
                "etcdBinary": str(controlplane.binary("etcd")),
                "kubectlBinary": str(tool_path("kubectl")),
            },
        }

    def kwokctl(self, *args: str, timeout: float = KWOKCTL_TIMEOUT_S) -> str:
        command = [str(controlplane.binary("kwokctl")), "--name", self.name, *args]
        return run(command, env=self.env(), timeout=timeout).stdout

    def kubectl(self, *args: str, timeout: float = 30.0) -> str:
        command = [str(tool_path("kubectl")), "--kubeconfig", str(self.kubeconfig), *args]
        return run(command, env=self.env(), timeout=timeout).stdout

    def is_healthy(self) -> bool:
        """The API server answers /readyz through our kubeconfig."""
        if not self.kubeconfig.exists():
            return False
        try:
            return self.kubectl("get", "--raw", "/readyz", timeout=10).strip() == "ok"
        except CommandError:
            return False

    def processes(self) -> list[int]:
        """Pids of this cluster's components: control-plane binaries from .tools running in
        the cluster's folder. kwokctl's pid files do not survive every crash; this does, and
        it never matches a shell that merely stands in that folder."""
        root, binaries = self.scratch.resolve(), GO_DIR.resolve()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cwd = (entry / "cwd").resolve(strict=True)
                exe = (entry / "exe").resolve(strict=True)
            except OSError:
                continue
            if cwd.is_relative_to(root) and exe.is_relative_to(binaries):
                found.append(int(entry.name))
        return sorted(found)

    def up(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the cluster and wait until its nodes are Ready; keep a healthy one as it is."""
        if self.is_healthy():
            print(f"cluster {self.name} is already running ({self.kubeconfig})")
            return
        if self.cluster_dir.exists() or self.processes():
            print(f"cluster {self.name}: clearing what a previous run left behind")
            self.down()
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "kwok.yaml").write_text(json.dumps(self.config(), indent=2) + "\n")
        print(f"cluster {self.name}: starting kube {controlplane.KUBE_VERSION} with kwokctl")
        start = time.monotonic()
        try:
            self.kwokctl(
                "create",
                "cluster",
                "--kubeconfig",
                str(self.kubeconfig),
                "--wait",
                f"{timeout:g}s",
                "--timeout",
                f"{timeout:g}s",
                timeout=timeout + 30,
            )
            self.kwokctl("scale", "node", "--replicas", str(self.nodes))
        except CommandError as exc:
            logs = self.cluster_dir / "logs"
            self.down()
            raise ClusterError(
                f"{exc}\n\nkwokctl could not start the cluster (logs: {logs})"
            ) from exc
        try:
            wait_for(self._nodes_ready, f"{self.nodes} Ready nodes", timeout)
            wait_for(
                lambda: self.kubectl("get", "serviceaccount", "default", "-o", "name"),
                "the default ServiceAccount (the controller manager is working)",
                timeout,
            )
        except WaitTimeout as exc:
            raise ClusterError(f"{exc} (logs: {self.cluster_dir / 'logs'})") from exc
        print(f"cluster {self.name}: up in {time.monotonic() - start:.0f} s; {self.kubeconfig}")

    def _nodes_ready(self) -> bool:
        nodes = json.loads(self.kubectl("get", "nodes", "-o", "json"))["items"]
        ready = [
            node
            for node in nodes
            for condition in node["status"].get("conditions", [])
            if condition["type"] == "Ready" and condition["status"] == "True"
        ]
        return len(ready) >= self.nodes

    def down(self) -> None:
        """Stop every component and remove the cluster's state; verify nothing is left."""
        if self.cluster_dir.exists():
            try:
                self.kwokctl("delete", "cluster", "--force", "--kubeconfig", str(self.kubeconfig))
            except CommandError as exc:
                print(f"kwokctl delete cluster failed, stopping by pid instead:\n{exc}")
        self._kill_leftovers()
        for path in (self.cluster_dir, self.kubeconfig):
            _remove(path)
        print(f"cluster {self.name}: stopped")

    def _kill_leftovers(self) -> None:
        """SIGTERM, then SIGKILL, whatever still runs from the cluster's folder."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.processes()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            if not pids:
                return
            try:
                wait_for(
                    lambda: not self.processes(), "the cluster's processes to exit", STOP_TIMEOUT_S
                )
                return
            except WaitTimeout:
                continue
        left = self.processes()
        if left:
            raise ClusterError(f"processes of cluster {self.name} survived SIGKILL: {left}")

    def status(self) -> str:
        if not self.is_healthy():
            pids = self.processes()
            return f"cluster {self.name}: not running" + (f" (stray pids {pids})" if pids else "")
        version = json.loads(self.kubectl("get", "--raw", "/version"))["gitVersion"]
        server = self.kubectl(
            "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"
        )
        lines = [
            f"cluster {self.name}: running Kubernetes {version} at {server}",
            f"KUBECONFIG={self.kubeconfig}",
            "listening:",
            *(f"  {listener}" for listener in listeners(self.processes())),
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class Listener:
    pid: int
    command: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int

    @property
    def on_loopback(self) -> bool:
        return self.address.is_loopback

    def __str__(self) -> str:
        return f"{self.command}[{self.pid}] on {self.address}:{self.port}"


def listeners(pids: Sequence[int]) -> list[Listener]:
    """The TCP sockets in LISTEN state that `pids` hold, read from /proc like `ss -ltnp`."""
    owner: dict[str, int] = {}
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owner[target[len("socket:[") : -1]] = pid
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in owner:  # 0A: LISTEN
                continue
            address_hex, port_hex = local.split(":")
            pid = owner[inode]
            command = Path(f"/proc/{pid}/comm").read_text().strip()
            found.append(Listener(pid, command, _proc_address(address_hex), int(port_hex, 16)))
    return found


def _proc_address(hex_text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/tcp* print addresses as 32-bit words in host (little-endian) byte order."""
    raw = bytes.fromhex(hex_text)
    packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(packed)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.cluster", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "kubeconfig"])
    args = parser.parse_args(argv)
    cluster = LocalCluster()
    try:
        if args.command == "up":
            cluster.up()
        elif args.command == "down":
            cluster.down()
        elif args.command == "status":
            print(cluster.status())
        else:
            print(cluster.kubeconfig)
    except (ClusterError, ToolError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
