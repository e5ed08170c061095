"""Kubernetes objects as the harness handles them: parsed JSON or YAML, plain dicts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]


def is_ready(obj: Obj) -> bool:
    """Whether the pod's (or node's) Ready condition is True."""
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def names(objects: Iterable[Obj]) -> list[str]:
    """`Kind/name` of each object, sorted, for assertions and messages."""
    return sorted(f"{obj['kind']}/{obj['metadata']['name']}" for obj in objects)


def label_selector(labels: Mapping[str, str]) -> str:
    """`k=v,k2=v2`, as kubectl's --selector and the API's labelSelector take it."""
    return ",".join(f"{key}={value}" for key, value in labels.items())
