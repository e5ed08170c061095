"""Which cluster the e2e suite runs on: only ever one it was pointed at on purpose."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

E2E_KUBECONFIG = "DFA_E2E_KUBECONFIG"


def existing_cluster(environ: Mapping[str, str]) -> Path | None:
    """The kubeconfig `DFA_E2E_KUBECONFIG` names, or None for the project's local cluster.

    KUBECONFIG is not read: a shell that happens to point at a shared cluster must not send
    the suite's installs, cluster-wide admission policies and deletions there.
    """
    given = environ.get(E2E_KUBECONFIG)
    return Path(given) if given else None
