"""The local cluster's own network and mount namespaces, held by one process that also
forwards a few loopback ports of the root namespace into them.

Everything of the cluster (etcd, the API server, the node, its pods) runs inside a network
namespace with no link to the root namespace: no veth, no default route, so a stray packet
meets "network is unreachable" instead of leaving the machine. From the root namespace it
is reached only through loopback: the holder listens on 127.0.0.1 ports there (opened
before it leaves the root namespace) and connects each accepted connection to the same
service inside. Pod and Service addresses are never routed in the root namespace.

The holder is one long-lived process (`python -m harness.cluster.netns`) that:

1. opens its loopback listeners in the root network namespace;
2. unshares a network and a mount namespace (the daemons and the kubelet's volume mounts
   must share one mount namespace; `ip netns exec` would give each command a fresh one);
3. makes the mount namespace a slave of the host's (mounts come in, none go out), mounts a
   /run of its own, brings up `lo` with the node's address and routes the Service range there;
4. hides the host-wide sysctls the kubelet would otherwise rewrite (vm.overcommit_memory,
   kernel.panic, kernel.panic_on_oops) behind files holding the values it wants, bind-mounted
   in this mount namespace only;
5. writes its ready file and forwards connections until it is stopped.

Commands enter both namespaces with `nsenter --target <holder> --net --mount`. When the
holder and everything started inside are gone, so are the namespaces and every mount.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.addresses import CLUSTER_CIDR
from harness.core.proc import run
from harness.core.retry import WaitTimeout, wait_for
from harness.core.tools import ROOT

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
# What the kubelet sets when it finds other values (its "protect kernel defaults" list);
# the rest of that list already matches on the hosts this runs on.
KUBELET_SYSCTLS = {
    "vm/overcommit_memory": "1",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
}
BUFFER = 64 * 1024


@dataclass(frozen=True)
class Forward:
    """Loopback port `listen` in the root namespace to `target` (host, port) inside."""

    listen: int
    target: tuple[str, int]

    @classmethod
    def parse(cls, text: str) -> Forward:
        """`PORT=HOST:PORT`."""
        listen, _, target = text.partition("=")
        host, _, port = target.rpartition(":")
        return cls(int(listen), (host, int(port)))

    def __str__(self) -> str:
        return f"{self.listen}={self.target[0]}:{self.target[1]}"


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare: {os.strerror(error)}")


def _sh(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


def _listen(port: int) -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)
    return server


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until `source` ends, then end `sink`'s sending side too."""
    with contextlib.suppress(OSError):
        while data := source.recv(BUFFER):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, target: tuple[str, int]) -> None:
    with client:
        try:
            upstream = socket.create_connection(target, timeout=10)
        except OSError:
            return  # the client sees the connection close, as it would see a refusal
        upstream.settimeout(None)
        with upstream:
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join()


def _serve(server: socket.socket, target: tuple[str, int]) -> None:
    while True:
        client, _ = server.accept()
        threading.Thread(target=_relay, args=(client, target), daemon=True).start()


def enter_namespaces(node_ip: str, service_cidr: str, sysctl_dir: Path) -> None:
    """Steps 2-4 of the module doc, for the calling (single-threaded) process."""
    _unshare(CLONE_NEWNET | CLONE_NEWNS)
    _sh("mount", "--make-rslave", "/")
    _sh("mount", "--make-rshared", "/")
    # A /run of its own: the node's sockets, containerd's fixed shim folder (/run/containerd/s,
    # shared by every containerd of a host) and its pods' namespaces stay inside, and go with it.
    _sh("mount", "--types", "tmpfs", "--options", "mode=0755", "tmpfs", "/run")
    _sh("ip", "link", "set", "lo", "up")
    _sh("ip", "address", "add", f"{node_ip}/32", "dev", "lo")
    # The Service range has no route in a namespace without a default one; kube-proxy's
    # rules only see packets that have somewhere to go.
    _sh("ip", "route", "add", service_cidr, "dev", "lo", "src", node_ip)
    sysctl_dir.mkdir(parents=True, exist_ok=True)
    for key, value in KUBELET_SYSCTLS.items():
        held = sysctl_dir / key.replace("/", ".")
        held.write_text(f"{value}\n")
        _sh("mount", "--bind", str(held), f"/proc/sys/{key}")


def hold(
    forwards: Sequence[Forward], node_ip: str, service_cidr: str, state: Path, ready: Path
) -> None:
    listeners = [(_listen(f.listen), f.target) for f in forwards]
    enter_namespaces(node_ip, service_cidr, state / "sysctl")
    for server, target in listeners:
        threading.Thread(target=_serve, args=(server, target), daemon=True).start()
    ready.write_text(f"{os.getpid()}\n")
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


class NamespaceError(Exception):
    """The holder could not be started or stopped; the message says why and where to look."""


@dataclass(frozen=True)
class Namespaces:
    """The holder whose files live in `state`: start it, enter its namespaces, stop it."""

    state: Path
    node_ip: str
    service_cidr: str

    @property
    def ready_file(self) -> Path:
        return self.state / "ready"

    @property
    def log(self) -> Path:
        return self.state / "holder.log"

    def holder(self) -> int | None:
        """The running holder's pid, or None. Checked against its command line, so a
        stale ready file never names an unrelated process."""
        try:
            pid = int(self.ready_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return (
            pid
            if str(self.state).encode() in cmdline and b"harness.cluster.netns" in cmdline
            else None
        )

    def enter(self, command: Sequence[str | Path]) -> list[str]:
        """`command` run inside the namespaces (unchanged when no holder runs)."""
        pid = self.holder()
        if pid is None:
            return [str(part) for part in command]
        return ["nsenter", f"--target={pid}", "--net", "--mount", "--", *map(str, command)]

    def run_in_network(self, *command: str, check: bool = True) -> str:
        """`command` in the network namespace only, its output. Unlike `enter`, never in the
        root one: with no holder it raises, since a rule or sysctl meant for a node must not
        reach the host."""
        pid = self.holder()
        if pid is None:
            raise NamespaceError(f"no namespace holder runs for {self.state}")
        command = ["nsenter", f"--target={pid}", "--net", "--", *command]
        return run(command, timeout=30, check=check).stdout

    def start(self, forwards: Sequence[Forward], timeout: float) -> int:
        """Start the holder (or keep the running one); return its pid once it is ready."""
        if (pid := self.holder()) is not None:
            return pid
        self.state.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "harness.cluster.netns",
            "--node-ip",
            self.node_ip,
            "--service-cidr",
            self.service_cidr,
            "--state",
            str(self.state),
            "--ready",
            str(self.ready_file),
            *(f"--forward={forward}" for forward in forwards),
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            # Its own session: an interrupted test run must not take the cluster down half-way.
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

        def ready() -> int | None:
            if process.poll() is not None:
                raise NamespaceError(
                    f"the namespace holder exited with {process.returncode}; see {self.log}:\n"
                    + self.log.read_text(errors="replace")[-2000:]
                )
            return self.holder()

        try:
            return wait_for(ready, "the cluster's namespaces", timeout, 0.05)
        except WaitTimeout as exc:
            process.kill()
            raise NamespaceError(f"{exc}; see {self.log}") from None

    def stop(self, timeout: float = 10.0) -> None:
        """End the holder; with nothing else inside, the namespaces and their mounts go."""
        pid = self.holder()
        if pid is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            try:
                wait_for(
                    lambda: self.holder() is None, "the namespace holder to exit", timeout, 0.05
                )
                break
            except WaitTimeout:
                continue
        else:
            raise NamespaceError(f"the namespace holder {pid} survived SIGKILL")
        self.ready_file.unlink(missing_ok=True)


def wire(hub: Namespaces, spoke: Namespaces, spoke_pods: str) -> None:
    """Join the spoke's network namespace to the hub's with a veth pair: the spoke reaches
    the whole cluster network through the hub, and the hub reaches the spoke's node and
    pods (`spoke_pods`) through the spoke. Forwarding is switched on in these two namespaces
    only: the sysctl is one per network namespace, and the root one is never touched."""
    hub_pid = hub.holder()
    if hub_pid is None:
        raise NamespaceError(f"no namespace holder runs for {hub.state}")
    device = f"dfa-node-{spoke.node_ip.rpartition('.')[2]}"  # the hub's end
    # The kernel ends a namespace, and with it a veth, a moment after its last process: a
    # cable of an earlier node of this address may still be there. Deleting one end of a
    # veth deletes both.
    hub.run_in_network("ip", "link", "delete", device, check=False)
    spoke.run_in_network(
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", device, "netns", str(hub_pid)
    )
    for side, link in ((spoke, "eth0"), (hub, device)):
        side.run_in_network("ip", "link", "set", link, "up")
        side.run_in_network("sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
    # `onlink`: the next hop is the other end of the cable, though no subnet says so.
    spoke.run_in_network(
        "ip",
        "route",
        "add",
        CLUSTER_CIDR,
        "via",
        hub.node_ip,
        "dev",
        "eth0",
        "onlink",
        "src",
        spoke.node_ip,
    )
    hub.run_in_network(
        "ip", "route", "add", f"{spoke.node_ip}/32", "dev", device, "src", hub.node_ip
    )
    hub.run_in_network(
        "ip", "route", "add", spoke_pods, "via", spoke.node_ip, "dev", device, "onlink"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.cluster.netns", description=__doc__)
    parser.add_argument("--node-ip", required=True)
    parser.add_argument("--service-cidr", required=True)
    parser.add_argument("--state", type=Path, required=True, help="folder for the held files")
    parser.add_argument("--ready", type=Path, required=True, help="written once ready")
    parser.add_argument(
        "--forward", type=Forward.parse, action="append", default=[], metavar="PORT=HOST:PORT"
    )
    args = parser.parse_args(argv)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    hold(args.forward, args.node_ip, args.service_cidr, args.state, args.ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
