"""A real node for the local cluster: containerd, the kubelet, kube-proxy, CoreDNS and an
image registry, inside the cluster's namespaces, its pods in a cgroup subtree of its own.

What this machine needs, each found by a run that failed without it (../shared/NODE.md):

- the host is cgroup v1: the kubelet runs with `failCgroupV1: false` and the cgroupfs driver,
  under a cgroup root of its own made in every v1 hierarchy (cpuset's cpus and mems copied
  in), so that two clusters never share one;
- the VM may not lower oom_score_adj: containerd's `restrict_oom_score_adj`;
- the kubelet would rewrite host-wide sysctls: the holder hides them (harness.cluster.netns);
  kube-proxy would raise the host's conntrack limits: `maxPerCore: 0`, `min: 0`;
- pods never get the host's resolver (`resolvConf: ""`) and never lose an image that cannot
  be pulled again (`imageGCHighThresholdPercent: 100`);
- CoreDNS serves the cluster's names only (no `forward`), on the node's address, behind the
  fixed ClusterIP of a selector-less `kube-dns` Service;
- the bridge plugin enforces no NetworkPolicy: a node started with `network_policy` also
  runs kube-router's firewall alone (no routing, no service proxy, no CNI of its own, no
  health or metrics port), which filters its pods' traffic with iptables and ipsets of the
  node's own network namespace.

Every daemon starts in the pids cgroup `<root>/system`, so that stopping the node can find
and kill all it started (shims and containers included) by cgroup, then remove the subtree
from every hierarchy, the unified one included (the kubelet makes kubepods/ there too).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.cluster import groups
from harness.cluster.addresses import CLUSTER_CIDR, pod_cidr
from harness.cluster.netns import NamespaceError, Namespaces
from harness.cluster.registry import DOCKER_REGISTRY, MIRRORED, Registry
from harness.core.objects import is_ready
from harness.core.proc import run
from harness.core.retry import terminate, wait_for
from harness.core.tools import BIN_DIR
from harness.toolchain import node_parts as parts

CGROUP_FS = Path("/sys/fs/cgroup")
DNS_SUFFIX = "cluster.local"
RUN_DIR = Path("/run/dfa-node")  # inside the holder's private /run
CONTAINERD_SOCKET = RUN_DIR / "containerd.sock"
STOP_TIMEOUT_S = 30.0


class NodeError(Exception):
    """The node could not be started or stopped; the message says why and where to look."""


def _hierarchies(*kinds: str) -> list[Path]:
    """The cgroup file systems of these kinds mounted under /sys/fs/cgroup: "cgroup" for each
    v1 hierarchy (cpu, memory, pids, name=systemd, ...), "cgroup2" for the unified one."""
    found = []
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount_point, kind, *_ = line.split()
        if kind in kinds and Path(mount_point).is_relative_to(CGROUP_FS):
            found.append(Path(mount_point))
    return found


@dataclass(frozen=True)
class Node:
    """The node named `name` of the cluster whose namespaces and kubeconfig are given.

    The first node also serves the cluster (`serves_cluster`): the image registry, CoreDNS
    and the kube-dns Service run there, on its address, for every node."""

    namespaces: Namespaces
    kubeconfig: Path
    state: Path
    name: str = "dfa-node"
    pod_cidr: str = pod_cidr(1)
    serves_cluster: bool = True
    # A group of nodes set apart: labelled and tainted with GROUP_KEY=<group>, so that only
    # the pods of namespaces confined to the group run there (harness.cluster.groups).
    group: str = ""
    # Whether NetworkPolicy is enforced on this node's pods (kube-router's firewall).
    network_policy: bool = False

    @property
    def cgroup_root(self) -> str:
        """Named after the state folder, so that two clusters on one host never share it."""
        return f"/dfa-node-{hashlib.sha256(str(self.state).encode()).hexdigest()[:10]}"

    @property
    def dns_ip(self) -> str:
        network = self.namespaces.service_cidr.split("/")[0].rsplit(".", 2)[0]
        return f"{network}.0.10"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def registry(self) -> Registry:
        return Registry(self.state / "registry")

    # -- configuration -----------------------------------------------------------------

    def containerd_config(self) -> str:
        return "\n".join(
            [
                "version = 3",
                f"root = '{self.state / 'containerd'}'",
                f"state = '{RUN_DIR / 'containerd'}'",
                "[grpc]",
                f"  address = '{CONTAINERD_SOCKET}'",
                "[plugins.'io.containerd.cri.v1.runtime']",
                # This VM's bounding set lacks CAP_SYS_RESOURCE: no lower oom_score_adj.
                "  restrict_oom_score_adj = true",
                "  [plugins.'io.containerd.cri.v1.runtime'.containerd]",
                "    default_runtime_name = 'runc'",
                "    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
                "      runtime_type = 'io.containerd.runc.v2'",
                "      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
                "        BinaryName = '/usr/sbin/runc'",
                "        SystemdCgroup = false",
                "  [plugins.'io.containerd.cri.v1.runtime'.cni]",
                f"    bin_dirs = ['{parts.CNI_BIN_DIR}']",
                f"    conf_dir = '{self.state / 'cni'}'",
                "[plugins.'io.containerd.cri.v1.images']",
                "  snapshotter = 'overlayfs'",
                "  [plugins.'io.containerd.cri.v1.images'.pinned_images]",
                f"    sandbox = '{parts.PAUSE_IMAGE}'",
                "  [plugins.'io.containerd.cri.v1.images'.registry]",
                f"    config_path = '{self.state / 'registries'}'",
                "",
            ]
        )

    def cni_config(self) -> dict[str, object]:
        return {
            "cniVersion": "1.0.0",
            "name": "dfa",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": "cni0",
                    "isGateway": True,
                    # Nothing leaves the namespace, so nothing is masqueraded.
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": self.pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.state / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }

    def kubelet_config(self) -> dict[str, object]:
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": self.cgroup_root,
            "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCKET}",
            "address": self.namespaces.node_ip,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "authentication": {
                "anonymous": {"enabled": True},
                "webhook": {"enabled": False},
            },
            "authorization": {"mode": "AlwaysAllow"},
            "clusterDNS": [self.dns_ip],
            "clusterDomain": DNS_SUFFIX,
            "resolvConf": "",
            "failSwapOn": False,
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
                "nodefs.inodesFree": "1%",
            },
            "serializeImagePulls": False,
        }

    def kube_proxy_config(self) -> dict[str, object]:
        return {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "mode": "iptables",
            "hostnameOverride": self.name,
            # Every node's pods and addresses: traffic from inside it is never masqueraded.
            "clusterCIDR": CLUSTER_CIDR,
            "clientConnection": {"kubeconfig": str(self.kubeconfig)},
            "healthzBindAddress": "127.0.0.1:10256",
            "metricsBindAddress": "127.0.0.1:10249",
            # Zero leaves the host-wide conntrack table and timeouts as they are.
            "conntrack": {
                "maxPerCore": 0,
                "min": 0,
                "tcpEstablishedTimeout": "0s",
                "tcpCloseWaitTimeout": "0s",
            },
        }

    def kube_router_flags(self) -> list[str]:
        return [
            "--run-firewall=true",
            "--run-router=false",
            "--run-service-proxy=false",
            "--enable-cni=false",
            f"--hostname-override={self.name}",
            f"--kubeconfig={self.kubeconfig}",
            f"--service-cluster-ip-range={self.namespaces.service_cidr}",
            "--health-port=0",
            "--metrics-port=0",
        ]

    def corefile(self) -> str:
        return "\n".join(
            [
                ".:53 {",
                f"    bind {self.namespaces.node_ip}",
                "    errors",
                f"    kubernetes {DNS_SUFFIX} in-addr.arpa ip6.arpa {{",
                f"        kubeconfig {self.kubeconfig}",
                "    }",
                "    cache 5",
                "}",
                "",
            ]
        )

    # -- cgroups ---------------------------------------------------------------------

    def cgroup_dirs(self) -> list[Path]:
        """The node's folder in every hierarchy: the harness makes them in the v1 ones, and on
        a hybrid host the kubelet makes kubepods/ under the unified one too."""
        root = self.cgroup_root.lstrip("/")
        return [h / root for h in _hierarchies("cgroup", "cgroup2")]

    @property
    def _system_procs(self) -> Path:
        return CGROUP_FS / "pids" / self.cgroup_root.lstrip("/") / "system" / "cgroup.procs"

    def make_cgroups(self) -> None:
        for folder in (h / self.cgroup_root.lstrip("/") for h in _hierarchies("cgroup")):
            folder.mkdir(exist_ok=True)
            if folder.parent.name == "cpuset" or (folder.parent / "cpuset.cpus").exists():
                for key in ("cpuset.cpus", "cpuset.mems"):
                    (folder / key).write_text((folder.parent / key).read_text())
        self._system_procs.parent.mkdir(exist_ok=True)

    def cgroup_processes(self) -> list[int]:
        """Every process in the node's pids subtree: daemons, shims and containers."""
        root = CGROUP_FS / "pids" / self.cgroup_root.lstrip("/")
        if not root.exists():
            return []
        pids = set()
        for procs in root.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in procs.read_text().split())
        return sorted(pids)

    def runs(self, command: str) -> bool:
        """Whether a process of the node runs `command` (its name in /proc/<pid>/comm)."""
        for pid in self.cgroup_processes():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == command:
                    return True
        return False

    def remove_cgroups(self) -> None:
        """Remove the subtree, deepest first, in every hierarchy."""
        for folder in self.cgroup_dirs():
            if not folder.exists():
                continue
            for child in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                if child.is_dir():
                    with contextlib.suppress(OSError):
                        child.rmdir()
            with contextlib.suppress(OSError):
                folder.rmdir()
        left = [str(f) for f in self.cgroup_dirs() if f.exists()]
        if left:
            raise NodeError(f"cgroups of the node could not be removed: {left}")

    # -- running -------------------------------------------------------------------

    def _spawn(self, name: str, command: Sequence[str | Path]) -> None:
        """Start `command` inside the namespaces and the node's system cgroup, logging to
        logs/<name>.log; in its own session, so that it outlives the command that started it."""
        self.logs.mkdir(parents=True, exist_ok=True)
        join = f'echo $$ > {self._system_procs} && exec "$@"'
        wrapped = self.namespaces.enter(["sh", "-c", join, name, *map(str, command)])
        # containerd finds its shim by name on PATH; nothing else of the host's PATH is needed.
        env = {**os.environ, "PATH": f"{BIN_DIR}:/usr/sbin:/usr/bin:/sbin:/bin"}
        with (self.logs / f"{name}.log").open("ab") as log:
            subprocess.Popen(
                wrapped,
                cwd=self.state,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _inside(self, *command: str | Path, timeout: float = 60.0) -> str:
        return run(self.namespaces.enter(command), timeout=timeout).stdout

    def _write(self, name: str, text: str) -> Path:
        path = self.state / "config" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def start(self, kubectl: Sequence[str], timeout: float) -> None:
        """Start the node and wait until it is Ready (and, on the first, its DNS is served)."""
        if not parts.PAUSE_ARCHIVE.exists():
            raise NodeError(f"{parts.PAUSE_ARCHIVE} is missing; run `make setup`")
        self.state.mkdir(parents=True, exist_ok=True)
        self.make_cgroups()
        (self.state / "cni").mkdir(exist_ok=True)
        (self.state / "cni" / "10-dfa.conflist").write_text(json.dumps(self.cni_config()))
        mirror = self.state / "registries" / MIRRORED / "hosts.toml"
        mirror.parent.mkdir(parents=True, exist_ok=True)
        mirror.write_text(self.registry.hosts_toml())
        if self.serves_cluster:
            registry = self._write("registry.yaml", self.registry.config())
            self._spawn("registry", [DOCKER_REGISTRY, "serve", registry])
        containerd = self._write("containerd.toml", self.containerd_config())
        self._spawn("containerd", [BIN_DIR / "containerd", "--config", containerd])
        ctr = [BIN_DIR / "ctr", "--address", CONTAINERD_SOCKET, "--namespace", "k8s.io"]
        wait_for(lambda: self._inside(*ctr, "version", timeout=10), "containerd", timeout)
        self._inside(*ctr, "images", "import", parts.PAUSE_ARCHIVE)
        kubelet = self._write("kubelet.yaml", json.dumps(self.kubelet_config()))
        self._spawn(
            "kubelet",
            [
                BIN_DIR / "kubelet",
                f"--config={kubelet}",
                f"--kubeconfig={self.kubeconfig}",
                f"--hostname-override={self.name}",
                f"--node-ip={self.namespaces.node_ip}",
                f"--root-dir={self.state / 'kubelet'}",
                *(groups.kubelet_flags(self.group) if self.group else []),
            ],
        )
        proxy = self._write("kube-proxy.yaml", json.dumps(self.kube_proxy_config()))
        self._spawn("kube-proxy", [BIN_DIR / "kube-proxy", f"--config={proxy}"])
        if self.serves_cluster:
            corefile = self._write("Corefile", self.corefile())
            self._spawn("coredns", [BIN_DIR / "coredns", "-conf", corefile])
            run([*kubectl, "apply", "-f", "-"], input=json.dumps(self.dns_service()))
        what = f"node {self.name} to be Ready"
        wait_for(lambda: self.is_ready(kubectl), what, timeout)
        if self.network_policy:
            # kube-router exits unless the Node object exists; it is ready once it has
            # synced, and the node is not handed out before.
            self._spawn("kube-router", [BIN_DIR / "kube-router", *self.kube_router_flags()])
            wait_for(self.enforces_policy, "kube-router's NetworkPolicy chains", timeout)

    def enforces_policy(self) -> bool:
        """Whether kube-router's chain hangs in the node's FORWARD chain: it has synced."""
        rules = self.namespaces.run_in_network("iptables", "-S", "FORWARD")
        return "-j KUBE-ROUTER-FORWARD" in rules

    def is_ready(self, kubectl: Sequence[str]) -> bool:
        got = run([*kubectl, "get", "node", self.name, "--ignore-not-found", "-o", "json"]).stdout
        if not got.strip():
            return False
        return is_ready(json.loads(got))

    def dns_service(self) -> dict[str, object]:
        """kube-dns: a fixed ClusterIP whose one endpoint is CoreDNS on the node's address."""
        ports = [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        ]
        labels = {"kubernetes.io/service-name": "kube-dns"}
        return {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "kube-dns", "namespace": "kube-system"},
                    "spec": {"clusterIP": self.dns_ip, "ports": ports},
                },
                {
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
                    "addressType": "IPv4",
                    "endpoints": [{"addresses": [self.namespaces.node_ip]}],
                    "ports": ports,
                },
            ],
        }

    def power_off(self) -> None:
        """As a power loss would: the node's network falls silent (every packet that reaches
        it is dropped, none answered) and all its processes are killed at once, with no
        chance to shut down. The namespaces stay, as a dead machine's cable does; `stop`
        clears the rest."""
        try:
            for chain in ("INPUT", "FORWARD"):
                self.namespaces.run_in_network("iptables", "-I", chain, "-j", "DROP")
        except NamespaceError as exc:
            raise NodeError(f"node {self.name} is not running: {exc}") from exc
        if left := terminate(
            self.cgroup_processes, "the node's processes", STOP_TIMEOUT_S, graceful=False
        ):
            raise NodeError(f"processes of node {self.name} survived SIGKILL: {left}")

    def stop(self) -> None:
        """Kill everything in the node's cgroup subtree, then remove the subtree."""
        if left := terminate(self.cgroup_processes, "the node's processes", STOP_TIMEOUT_S / 2):
            raise NodeError(f"processes of the node survived SIGKILL: {left}")
        self.remove_cgroups()
