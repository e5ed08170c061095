"""Which cluster a command works on: the one `--kubeconfig` names, else the local cluster.

Never the one a `KUBECONFIG` in the shell happens to name: the demo and the rehearsals
install into the cluster they work on, and only an explicit option may make that a shared one.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.local import LocalCluster
from harness.kube.client import Kube


def _existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def add_kubeconfig_argument(parser: argparse.ArgumentParser, purpose: str) -> None:
    parser.add_argument(
        "--kubeconfig",
        type=_existing_file,
        metavar="FILE",
        help=f"{purpose} this existing cluster (default: the local cluster, started if needed)",
    )


@dataclass(frozen=True)
class Target:
    kube: Kube
    local: LocalCluster | None  # the local cluster, when that is the target


def target_cluster(kubeconfig: Path | None, cluster: LocalCluster | None = None) -> Target:
    """The cluster `kubeconfig` names, else the local cluster, started if it is not running."""
    if kubeconfig is not None:
        print(f"cluster: --kubeconfig {kubeconfig}")
        return Target(Kube(kubeconfig), None)
    cluster = cluster or LocalCluster()
    cluster.up()
    print(f"cluster: local, KUBECONFIG={cluster.kubeconfig}")
    return Target(Kube(cluster.kubeconfig), cluster)
