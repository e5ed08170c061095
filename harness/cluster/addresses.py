"""The local cluster's address plan, in 198.18.0.0/15: the range reserved for network
benchmarks in labs (RFC 2544), never routed anywhere, so nothing of the cluster's could be
mistaken for, or reach, a real host.

    198.18.0.0/16   the cluster network: node N is 198.18.0.N, its pods 198.18.N.0/24
    198.19.0.0/16   Service ClusterIPs

Node 1 holds the control plane, the registry and CoreDNS; every other node is wired to it
(harness.cluster.wiring), so node 1's namespace routes between the nodes.
"""

from __future__ import annotations

LOOPBACK = "127.0.0.1"
CLUSTER_CIDR = "198.18.0.0/16"
SERVICE_CIDR = "198.19.0.0/16"
MAX_NODES = 254


def node_ip(index: int) -> str:
    """Node `index`'s address (1-based)."""
    _check(index)
    return f"198.18.0.{index}"


def pod_cidr(index: int) -> str:
    """The range node `index` gives its pods' addresses from."""
    _check(index)
    return f"198.18.{index}.0/24"


def _check(index: int) -> None:
    if not 1 <= index <= MAX_NODES:
        raise ValueError(f"a node's index is 1 to {MAX_NODES}, not {index}")


NODE_IP = node_ip(1)
