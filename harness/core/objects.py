"""Kubernetes objects as the harness handles them: parsed JSON or YAML, plain dicts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]


def has_condition(obj: Obj, kind: str) -> bool:
    """Whether the object's condition of type `kind` is True. A new object's status, or its
    conditions, may still be missing or null: not True yet."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)


def is_ready(obj: Obj) -> bool:
    """Whether the pod's (or node's) Ready condition is True."""
    return has_condition(obj, "Ready")


def names(objects: Iterable[Obj]) -> list[str]:
    """`Kind/name` of each object, sorted, for assertions and messages."""
    return sorted(f"{obj['kind']}/{obj['metadata']['name']}" for obj in objects)


def label_selector(labels: Mapping[str, str]) -> str:
    """`k=v,k2=v2`, as kubectl's --selector and the API's labelSelector take it."""
    return ",".join(f"{key}={value}" for key, value in labels.items())
