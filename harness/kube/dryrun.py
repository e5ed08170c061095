"""The API server as the judge of rendered objects: a server-side dry run of each one.

`refusals()` sends every object of a render to the API server as a create with
`dryRun=All` and strict field validation: admission, defaulting and validation run in full,
nothing is stored. Offline schemas check the shape of an object; only the API server knows
the rules between fields (one probe handler, requests within limits, an ipBlock alone in its
peer), which is what a chart's values most often break.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.core.objects import Obj
from harness.kube.api import ApiError, KubeAPI

# Kinds whose plural is not the lower-case kind plus "s".
_PLURALS = {"Ingress": "ingresses", "NetworkPolicy": "networkpolicies"}


@dataclass(frozen=True)
class Refusal:
    """One object the API server would not create, and why."""

    kind: str
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}: {self.message}"


def collection_path(obj: Obj, namespace: str) -> str:
    """The REST path that creates `obj` in `namespace`."""
    api_version = obj["apiVersion"]
    group = "/api/" if "/" not in api_version else "/apis/"
    plural = _PLURALS.get(obj["kind"], obj["kind"].lower() + "s")
    return f"{group}{api_version}/namespaces/{namespace}/{plural}"


def refusals(api: KubeAPI, objects: Iterable[Obj], namespace: str) -> list[Refusal]:
    """What the API server refuses of `objects`, created in `namespace` as a dry run; []
    when it would accept them all. Its warnings are not refusals."""
    found = []
    for obj in objects:
        path = collection_path(obj, namespace) + "?dryRun=All&fieldValidation=Strict"
        try:
            api.create(path, obj)
        except ApiError as error:
            found.append(Refusal(obj["kind"], obj["metadata"]["name"], str(error)))
    return found
