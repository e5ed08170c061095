"""Which TCP ports a set of processes listen on, and in which network namespace.

Read from /proc like `ss -ltnp`, but across namespaces: a socket belongs to the namespace it
was opened in, which need not be its process's current one (the cluster's holder opens its
root-namespace listeners before it moves into the cluster's namespace). So every table of
every namespace involved is read, and each listener keeps the namespace it was found in.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    pid: int
    command: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    namespace: str  # the network namespace, as /proc/<pid>/ns/net names it: "net:[4026531840]"

    @property
    def on_loopback(self) -> bool:
        return self.address.is_loopback

    def __str__(self) -> str:
        return f"{self.command}[{self.pid}] on {self.address}:{self.port} in {self.namespace}"


def network_namespace(pid: int | str = "self") -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def _socket_owners(pids: Sequence[int]) -> dict[str, int]:
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
    return owner


def _tables(pids: Sequence[int]) -> Iterator[tuple[str, Path]]:
    """(namespace, /proc/<pid>/net/tcp*) once for each namespace of `pids` and of this one."""
    seen = set()
    for pid in ["self", *pids]:
        try:
            namespace = network_namespace(pid)
        except OSError:
            continue
        if namespace not in seen:
            seen.add(namespace)
            for table in ("tcp", "tcp6"):
                yield namespace, Path(f"/proc/{pid}/net/{table}")


def listeners(pids: Sequence[int]) -> list[Listener]:
    """The TCP sockets in LISTEN state that `pids` hold, in whichever namespace they are."""
    owner = _socket_owners(pids)
    found = []
    for namespace, table in _tables(pids):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != LISTEN or inode not in owner:
                continue
            address_hex, port_hex = local.split(":")
            pid = owner[inode]
            command = Path(f"/proc/{pid}/comm").read_text().strip()
            found.append(
                Listener(pid, command, _address(address_hex), int(port_hex, 16), namespace)
            )
    return found


def _address(hex_text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/tcp* print addresses as 32-bit words in host (little-endian) byte order."""
    raw = bytes.fromhex(hex_text)
    packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(packed)
