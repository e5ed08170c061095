"""Groups of nodes set apart inside the shared local cluster, for the scenarios that drain
or kill nodes while other tests run their pods on the first node.

A group's nodes are labelled and tainted `dfa.local/group=<group>` (NoSchedule), so no
other pod lands there. A namespace confined to the group gets two annotations that real
admission plugins of the API server read (both enabled by harness.cluster.local):
PodNodeSelector gives its pods the group's node selector, and PodTolerationRestriction
gives them the toleration. The chart's values stay untouched: what the chart does on a
two-node cluster is what it does on the group's two nodes.
"""

from __future__ import annotations

import json

GROUP_KEY = "dfa.local/group"
ADMISSION_PLUGINS = ("PodNodeSelector", "PodTolerationRestriction")


def kubelet_flags(group: str) -> list[str]:
    """How a node of `group` registers: with the group's label and taint."""
    return [
        f"--node-labels={GROUP_KEY}={group}",
        f"--register-with-taints={GROUP_KEY}={group}:NoSchedule",
    ]


def namespace_annotations(group: str) -> dict[str, str]:
    """The annotations that confine a namespace's pods to the nodes of `group`."""
    toleration = {"key": GROUP_KEY, "operator": "Equal", "value": group, "effect": "NoSchedule"}
    return {
        "scheduler.alpha.kubernetes.io/node-selector": f"{GROUP_KEY}={group}",
        "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps([toleration]),
    }
