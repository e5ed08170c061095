"""Rollouts that fit an IP pool and rollouts that would stall, shared by the chart's guard
tests and the rollout plan's tests so both are held to the same cases."""

from __future__ import annotations

IPOOL = {"enabled": True}


def deployment(replicas=3, size=None, strategy=None):
    values = {"replicaCount": replicas, "ipool": {**IPOOL, "size": size}}
    if strategy is not None:
        values["strategy"] = strategy
    return values


def rolling(max_surge=None, max_unavailable=None):
    update = {}
    if max_surge is not None:
        update["maxSurge"] = max_surge
    if max_unavailable is not None:
        update["maxUnavailable"] = max_unavailable
    return {"type": "RollingUpdate", "rollingUpdate": update}


# (replicas, pool size, strategy): rollouts whose peak pod count fits the pool.
FITS = {
    "surge-0-at-n": (3, 3, rolling(0, 1)),
    "surge-0-percent-at-n": (3, 3, rolling("0%", "34%")),
    "surge-1-at-n-plus-1": (3, 4, rolling(1, 0)),
    "surge-25-percent-of-3-is-1": (3, 4, rolling("25%", 0)),
    "surge-10-percent-of-10-is-1": (10, 11, rolling("10%", 0)),
    "surge-11-percent-of-10-rounds-up-to-2": (10, 12, rolling("11%", 0)),
    "kubernetes-default-25-percent-of-4-is-1": (4, 5, {"type": "RollingUpdate"}),
    "recreate-at-n": (3, 3, {"type": "Recreate"}),
    "scaled-to-zero": (0, None, rolling(1, 0)),
}

# (replicas, pool size, strategy, peak pods the message must name).
STALLS = {
    "surge-1-at-n": (3, 3, rolling(1, 0), 4),
    "surge-1-percent-of-3-rounds-up-to-1": (3, 3, rolling("1%", 1), 4),
    "kubernetes-default-at-n": (3, None, {"type": "RollingUpdate"}, 4),
    "surge-only-set-at-n": (3, 3, {"rollingUpdate": {"maxSurge": 2}}, 5),
    "surge-11-percent-of-10-at-n-plus-1": (10, 11, rolling("11%", 0), 12),
    "surge-50-percent-of-3-at-n-plus-1": (3, 4, rolling("50%", 0), 5),
}
