"""A throwaway local Kubernetes cluster: the pinned control plane run by kwokctl, no containers.

    python -m harness.cluster up           # start it (or keep the healthy one running)
    python -m harness.cluster up --nodes 2 # the same, with a second real node
    python -m harness.cluster up --nodes 2 --network-policy  # that node enforces NetworkPolicy
    python -m harness.cluster down         # stop it; no process is left behind
    python -m harness.cluster status       # running or not, API server address and version
    python -m harness.cluster kubeconfig   # print the path of its kubeconfig

kwokctl's binary runtime starts etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and the kwok controller as local processes from .tools/bin (nothing is
downloaded) and keeps its state under .tools/scratch/cluster (``KWOK_WORKDIR``); the
kubeconfig is written there too, never to ~/.kube/config. Pods run on a real node
(harness.cluster.node): a kubelet with containerd, and a registry that serves the chart's
image under its own name. kwok can add fake nodes (`nodes`), on which pods become Running
and Ready without running any container; by default there are none.

All of it runs inside network and mount namespaces of its own (harness.cluster.netns),
started by kwokctl run through `nsenter`; every component binds 127.0.0.1 in there. The
only way in from the root namespace is the holder's forward of the API server's port on
127.0.0.1, the same port as inside, so one kubeconfig serves both sides.

More real nodes join on demand (`up --nodes N`, `add_node`): each in network and mount
namespaces of its own, wired to the first node's (harness.cluster.netns.wire), with its own
containerd, kubelet and kube-proxy, and, if asked, kube-router's firewall, which enforces
NetworkPolicy on the node's pods. The address plan is harness.cluster.addresses.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.cluster import groups, registry
from harness.cluster.addresses import (
    LOOPBACK,
    MAX_NODES,
    NODE_IP,
    SERVICE_CIDR,
    node_ip,
    pod_cidr,
)
from harness.cluster.listeners import listeners
from harness.cluster.netns import Forward, NamespaceError, Namespaces, wire
from harness.cluster.node import Node, NodeError
from harness.core.objects import is_ready
from harness.core.proc import CommandError, run
from harness.core.retry import WaitTimeout, terminate, wait_for
from harness.core.tools import TOOLS_DIR, ToolError, tool_env, tool_path
from harness.kube.client import KUBE_CACHE_DIR
from harness.toolchain import controlplane
from harness.toolchain.gotools import GO_DIR

SCRATCH_DIR = TOOLS_DIR / "scratch" / "cluster"
CLUSTER_NAME = "dummy-flask-app"
# kwok's fake nodes: none by default, every pod runs on a real node (see `fake_nodes`).
FAKE_NODE_COUNT = 0

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
    fake_nodes: int = FAKE_NODE_COUNT

    @property
    def workdir(self) -> Path:
        """KWOK_WORKDIR: kwokctl's config, caches and clusters."""
        return self.scratch / "kwok"

    @property
    def cluster_dir(self) -> Path:
        return self.workdir / "clusters" / self.name

    @property
    def pki(self) -> Path:
        """kwokctl's certificate authority and the admin's certificate."""
        return self.cluster_dir / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.scratch / "kubeconfig"

    def env(self) -> dict[str, str]:
        env = tool_env()
        env["KWOK_WORKDIR"] = str(self.workdir)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["KUBECACHEDIR"] = str(KUBE_CACHE_DIR)
        return env

    def config(self, port: int) -> dict[str, object]:
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
                # Fixed, so that the holder can forward the same port before kwokctl starts.
                "kubeApiserverPort": port,
            },
            "componentsPatches": [
                {
                    "name": "kube-apiserver",
                    "extraArgs": [
                        # The namespace has no default route to guess an address from.
                        {"key": "advertise-address", "value": NODE_IP},
                        # Inside the namespace only: the other nodes' kubelets reach it on
                        # the first node's address; the root namespace still sees loopback.
                        {"key": "bind-address", "value": "0.0.0.0"},
                        {
                            "key": "enable-admission-plugins",
                            "value": ",".join(groups.ADMISSION_PLUGINS),
                        },
                        {"key": "service-cluster-ip-range", "value": SERVICE_CIDR},
                        # The node's name resolves nowhere; its address is all there is.
                        {"key": "kubelet-preferred-address-types", "value": "InternalIP"},
                    ],
                },
                {
                    # kwokctl leaves certificate signing off; operators' client certificates
                    # are issued through the CertificateSigningRequest API
                    # (harness.kube.identity), signed by the cluster's own CA.
                    "name": "kube-controller-manager",
                    "extraArgs": [
                        {"key": "cluster-signing-cert-file", "value": str(self.pki / "ca.crt")},
                        {"key": "cluster-signing-key-file", "value": str(self.pki / "ca.key")},
                        # Kubernetes' own defaults: kwokctl stretches them (25 s and 3m20s)
                        # for its fake nodes, which would slow every real node's death.
                        {"key": "node-monitor-period", "value": "5s"},
                        {"key": "node-monitor-grace-period", "value": "50s"},
                    ],
                },
                {
                    # The binary runtime lets kwok manage every node; only its own fake
                    # ones may be, so that a real kubelet's node stays the kubelet's.
                    "name": "kwok-controller",
                    "extraArgs": [
                        {"key": "manage-all-nodes", "value": "false"},
                        {
                            "key": "manage-nodes-with-annotation-selector",
                            "value": "kwok.x-k8s.io/node=fake",
                        },
                    ],
                },
            ],
        }

    @property
    def namespaces(self) -> Namespaces:
        return Namespaces(self.scratch / "netns", NODE_IP, SERVICE_CIDR)

    @property
    def push_port_file(self) -> Path:
        return self.scratch / "registry-port"

    @property
    def registry_address(self) -> str:
        """Where the root namespace pushes images to the node's registry: 127.0.0.1:<port>."""
        return f"{LOOPBACK}:{int(self.push_port_file.read_text())}"

    @property
    def node(self) -> Node:
        """The real node: a kubelet with containerd, running containers."""
        return Node(self.namespaces, self.kubeconfig, self.scratch / "node")

    def worker(self, index: int, group: str = "", network_policy: bool = False) -> Node:
        """Real node `index` (2 and up), its state under nodes/<name>: its own namespaces,
        wired to the first node's, and a kubeconfig that reaches the API server from there;
        with `network_policy`, enforcing NetworkPolicy on its pods."""
        if index < 2:
            raise ValueError(
                f"node 1 is the cluster's own (`node`); workers are 2 and up, not {index}"
            )
        root = self.scratch / "nodes" / f"dfa-node-{index}"
        return Node(
            Namespaces(root / "netns", node_ip(index), SERVICE_CIDR),
            root / "kubeconfig",
            root / "node",
            name=f"dfa-node-{index}",
            pod_cidr=pod_cidr(index),
            serves_cluster=False,
            group=group,
            network_policy=network_policy,
        )

    def worker_indexes(self) -> list[int]:
        """The extra nodes whose state is on disk, running or not."""
        folder = self.scratch / "nodes"
        suffixes = [p.name.rpartition("-")[2] for p in folder.iterdir()] if folder.exists() else []
        return sorted(int(suffix) for suffix in suffixes if suffix.isdigit())

    def workers(self) -> list[Node]:
        return [self.worker(index) for index in self.worker_indexes()]

    def add_node(
        self,
        index: int,
        group: str = "",
        *,
        network_policy: bool = False,
        timeout: float = START_TIMEOUT_S,
    ) -> Node:
        """Start real node `index` (2 and up) in the running cluster, in `group` if given
        (harness.cluster.groups), enforcing NetworkPolicy if asked, and wait until it is
        Ready. A node that is up as asked is kept; anything else an earlier run left (a
        half-started node, a killed one, one set up otherwise) is removed first, so that a
        rerun always finishes."""
        node = self.worker(index, group, network_policy)
        if self._is_running(node):
            return node
        self.remove_node(index)
        node.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        # The same credentials, with the API server at the first node's address.
        node.kubeconfig.write_text(
            self.kubeconfig.read_text().replace(f"https://{LOOPBACK}:", f"https://{NODE_IP}:")
        )
        try:
            node.namespaces.start([], timeout)
            wire(self.namespaces, node.namespaces, node.pod_cidr)
            node.start(self._kubectl_command(), timeout)
        except (CommandError, NamespaceError, NodeError, WaitTimeout) as exc:
            self._stop_worker(node)  # its state and logs stay, until the next add or `down`
            raise ClusterError(
                f"{exc}\n\nnode {node.name} could not start (logs: {node.logs})"
            ) from exc
        return node

    def scale(self, count: int, network_policy: bool = False) -> None:
        """Real nodes 2 to `count` running, no others; enforcing NetworkPolicy if asked."""
        for index in self.worker_indexes():
            if index > count:
                self.remove_node(index)
        for index in range(2, count + 1):
            node = self.add_node(index, network_policy=network_policy)
            print(f"cluster {self.name}: node {index} is {node.name}")

    def _is_running(self, node: Node) -> bool:
        if node.namespaces.holder() is None or not node.cgroup_processes():
            return False
        if node.runs("kube-router") != node.network_policy:
            return False
        got = self.kubectl("get", "node", node.name, "--ignore-not-found", "-o", "json")
        if not got.strip() or not is_ready(found := json.loads(got)):
            return False
        return found["metadata"].get("labels", {}).get(groups.GROUP_KEY, "") == node.group

    def remove_node(self, index: int) -> None:
        """Stop real node `index`, forget its Node object and remove its state."""
        node = self.worker(index)
        self._stop_worker(node)
        # Only now: the node's container mounts lived in the namespaces just ended.
        _remove(node.state.parent)
        if self.is_healthy():
            self.kubectl("delete", "node", node.name, "--ignore-not-found", "--wait=false")

    def _stop_worker(self, node: Node) -> None:
        try:
            node.stop()
            node.namespaces.stop()
        except (NodeError, NamespaceError) as exc:
            raise ClusterError(str(exc)) from exc

    def allow_pulls(self, namespace: str, group: str = "") -> None:
        """Create `namespace` if needed, with the chart's pull secret `myregistrykey` for the
        node's registry in it; with `group`, its pods run on that group's nodes only."""
        metadata: dict[str, object] = {"name": namespace}
        if group:
            metadata["annotations"] = groups.namespace_annotations(group)
        listed = {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata},
                self.node.registry.pull_secret(namespace),
            ],
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(listed))

    def http_get(self, url: str, timeout: float = 10.0) -> tuple[int, str]:
        """GET `url` from inside the cluster's namespace (pod and Service addresses live only
        there): the status and the body."""
        fetch = (
            "import sys, urllib.request\n"
            f"r = urllib.request.urlopen(sys.argv[1], timeout={timeout})\n"
            "print(r.status, r.read().decode(), end='')"
        )
        command = self.namespaces.enter([sys.executable, "-c", fetch, url])
        status, _, body = run(command, timeout=timeout + 5).stdout.partition(" ")
        return int(status), body

    def kwokctl(self, *args: str, timeout: float = KWOKCTL_TIMEOUT_S) -> str:
        command = [str(controlplane.binary("kwokctl")), "--name", self.name, *args]
        return run(self.namespaces.enter(command), env=self.env(), timeout=timeout).stdout

    def _kubectl_command(self) -> list[str]:
        return [str(tool_path("kubectl")), "--kubeconfig", str(self.kubeconfig)]

    def kubectl(self, *args: str, timeout: float = 30.0, input: str | None = None) -> str:
        command = [*self._kubectl_command(), *args]
        return run(command, env=self.env(), timeout=timeout, input=input).stdout

    def is_healthy(self) -> bool:
        """The API server answers /readyz through our kubeconfig, and the real node is Ready."""
        if not self.kubeconfig.exists():
            return False
        try:
            serving = self.kubectl("get", "--raw", "/readyz", timeout=10).strip() == "ok"
            return serving and self.node.is_ready(self._kubectl_command())
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

    def all_processes(self) -> list[int]:
        """The components, every node's daemons and containers, and the namespaces' holders."""
        found = set(self.processes())
        for node in [self.node, *self.workers()]:
            found.update(node.cgroup_processes())
            found.add(node.namespaces.holder())
        return sorted(found - {None})

    def up(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the cluster and wait until its nodes are Ready; keep a healthy one as it is."""
        if self.is_healthy():
            print(f"cluster {self.name} is already running ({self.kubeconfig})")
            return
        if self.cluster_dir.exists() or self.processes():
            print(f"cluster {self.name}: clearing what a previous run left behind")
            self.down()
        self.workdir.mkdir(parents=True, exist_ok=True)
        print(f"cluster {self.name}: starting kube {controlplane.KUBE_VERSION} with kwokctl")
        start = time.monotonic()
        port, push = free_loopback_ports(2)
        (self.workdir / "kwok.yaml").write_text(json.dumps(self.config(port), indent=2) + "\n")
        self.push_port_file.write_text(f"{push}\n")
        forwards = [Forward(port, (LOOPBACK, port)), Forward(push, (NODE_IP, registry.PORT))]
        try:
            self.namespaces.start(forwards, timeout)
        except NamespaceError as exc:
            self.down()
            raise ClusterError(str(exc)) from exc
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
            self.kwokctl("scale", "node", "--replicas", str(self.fake_nodes))
            self.node.start(self._kubectl_command(), timeout)
        except (CommandError, NodeError, WaitTimeout) as exc:
            logs = self.cluster_dir / "logs"
            self.down()
            raise ClusterError(
                f"{exc}\n\nthe cluster could not start (logs: {logs}, {self.node.logs})"
            ) from exc
        try:
            wait_for(self._nodes_ready, f"{self.fake_nodes + 1} Ready nodes", timeout)
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
        return (
            len([node for node in nodes if is_ready(node)]) >= self.fake_nodes + 1
        )  # + the real one

    def down(self) -> None:
        """Stop every component and remove the cluster's state; verify nothing is left."""
        for worker in self.workers():
            self._stop_worker(worker)  # their state goes below, with the first node's
        try:
            self.node.stop()
        except NodeError as exc:
            raise ClusterError(str(exc)) from exc
        if self.cluster_dir.exists() and self.namespaces.holder() is not None:
            try:
                self.kwokctl("delete", "cluster", "--force", "--kubeconfig", str(self.kubeconfig))
            except CommandError as exc:
                print(f"kwokctl delete cluster failed, stopping by pid instead:\n{exc}")
        self._kill_leftovers()
        try:
            self.namespaces.stop()
        except NamespaceError as exc:
            raise ClusterError(str(exc)) from exc
        # Only now: the node's container mounts lived in the namespaces just ended.
        nodes = self.scratch / "nodes"
        for path in (
            self.cluster_dir,
            self.kubeconfig,
            self.node.state,
            nodes,
            self.push_port_file,
        ):
            _remove(path)
        print(f"cluster {self.name}: stopped")

    def _kill_leftovers(self) -> None:
        """SIGTERM, then SIGKILL, whatever still runs from the cluster's folder."""
        if left := terminate(self.processes, "the cluster's processes", STOP_TIMEOUT_S):
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
            *(f"  {listener}" for listener in listeners(self.all_processes())),
        ]
        return "\n".join(lines)


def free_loopback_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 now (and inside: that namespace is new)."""
    with contextlib.ExitStack() as probes:
        sockets = [probes.enter_context(socket.socket()) for _ in range(count)]
        for probe in sockets:
            probe.bind((LOOPBACK, 0))
        return [probe.getsockname()[1] for probe in sockets]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.cluster", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "kubeconfig"])
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        choices=range(1, MAX_NODES + 1),
        metavar="N",
        help="with up: the real nodes the cluster has (default 1; extra ones are removed)",
    )
    parser.add_argument(
        "--network-policy",
        action="store_true",
        help="with up: nodes 2 and up enforce NetworkPolicy (kube-router's firewall)",
    )
    args = parser.parse_args(argv)
    cluster = LocalCluster()
    try:
        if args.command == "up":
            cluster.up()
            cluster.scale(args.nodes, args.network_policy)
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
