"""Validate a custom resource against its CRD's schema, as strictly as the API server does.

kubernetes-validate knows the built-in kinds only. For a custom resource (the chart's
HTTPRoute) the schema is the ``openAPIV3Schema`` of the served version in its
CustomResourceDefinition (harness.toolchain.crds installs the pinned ones). It is validated
with jsonschema (Draft 4, whose boolean ``exclusiveMinimum`` and integer rules OpenAPI v3's
schemas follow), after these changes that make it behave like the API server with strict
field validation (``kubectl apply --validate=strict``, Helm 4's server-side apply):

- unknown fields are refused: an object schema without ``additionalProperties`` and without
  ``x-kubernetes-preserve-unknown-fields: true`` allows only its ``properties``;
- ``metadata`` at the top is ObjectMeta (the CRD only says ``type: object``): name present,
  only ObjectMeta's fields, labels and annotations maps of strings, label values valid;
- ``x-kubernetes-int-or-string`` is an integer or a string; ``x-kubernetes-embedded-resource``
  carries apiVersion, kind and metadata; ``nullable: true`` allows null (any other null is
  refused, where the server would drop it silently: a null in a rendered chart is a slip);
- ``x-kubernetes-list-type: set`` items are unique, ``map`` items unique by their
  ``x-kubernetes-list-map-keys`` (a missing key counts as its default);
- a required field with a ``default`` may be left out: the server fills it in first.

Not checked: the CEL rules (``x-kubernetes-validations``) and string ``format``s. Schemas
under ``allOf``/``anyOf``/``oneOf``/``not`` are used as written: in a structural schema they
only add value checks, never fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.toolchain import crds

Schema = dict[str, Any]

_STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
# What the API server accepts in a label value (apimachinery's IsValidLabelValue).
_LABEL_VALUE: Schema = {
    "type": "string",
    "maxLength": 63,
    "pattern": r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
}
# ObjectMeta's fields, loosely typed beyond what a chart renders (name, namespace, labels,
# annotations); creationTimestamp may be null, as Helm renders it from some templates.
OBJECT_META: Schema = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": _LABEL_VALUE},
        "annotations": _STRING_MAP,
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": "string"},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "selfLink": {"type": "string"},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "managedFields": {"type": "array", "items": {"type": "object"}},
    },
}
# An embedded object (a template) may leave its name to whoever creates it.
_EMBEDDED_META: Schema = {k: v for k, v in OBJECT_META.items() if k != "required"}
_EMBEDDED: Schema = {
    "apiVersion": {"type": "string", "minLength": 1},
    "kind": {"type": "string", "minLength": 1},
    "metadata": _EMBEDDED_META,
}


class CRDValidationError(Exception):
    """`obj` breaks its CRD's schema; `problems` holds one "path: what is wrong" per finding."""

    def __init__(self, what: str, problems: Sequence[str]) -> None:
        super().__init__(f"{what}: " + "; ".join(problems))
        self.what = what
        self.problems = list(problems)


def _list_map_keys(
    validator: Any, keys: list[str], instance: Any, schema: Schema
) -> Iterator[jsonschema.ValidationError]:
    """`x-kubernetes-list-map-keys`: no two items of a map-type list share their keys."""
    if schema.get("x-kubernetes-list-type") != "map" or not validator.is_type(instance, "array"):
        return
    fields = (schema.get("items") or {}).get("properties", {})
    seen: dict[tuple[Any, ...], int] = {}
    for index, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        key = tuple(item.get(name, fields.get(name, {}).get("default")) for name in keys)
        if key in seen:
            shown = ", ".join(f"{name}={value!r}" for name, value in zip(keys, key, strict=True))
            yield jsonschema.ValidationError(
                f"duplicate entry ({shown}), also at [{seen[key]}]", path=[index]
            )
        else:
            seen[key] = index


_Validator = jsonschema.validators.extend(
    jsonschema.Draft4Validator, {"x-kubernetes-list-map-keys": _list_map_keys}
)


def strict_schema(node: Schema, *, top: bool = True) -> Schema:
    """A copy of the structural schema `node` that jsonschema checks the server's way."""
    out = dict(node)
    embedded = bool(node.get("x-kubernetes-embedded-resource"))
    if embedded:
        out["properties"] = {**_EMBEDDED, **out.get("properties", {})}
        out["required"] = sorted({*out.get("required", ()), "apiVersion", "kind"})
    if "properties" in out:
        properties = {
            name: strict_schema(field, top=False) for name, field in out["properties"].items()
        }
        if top or embedded:
            # The server checks metadata as ObjectMeta; a CRD may only narrow metadata.name.
            meta = OBJECT_META if top else _EMBEDDED_META
            described = {
                k: v for k, v in out["properties"].get("metadata", {}).items() if k != "type"
            }
            properties["metadata"] = {"allOf": [meta, described]} if described else meta
        out["properties"] = properties
        defaulted = {name for name, field in properties.items() if "default" in field}
        required = [name for name in out.get("required", ()) if name not in defaulted]
        out.pop("required", None)
        if required:  # Draft 4 wants at least one name
            out["required"] = required
    if isinstance(node.get("items"), dict):
        out["items"] = strict_schema(node["items"], top=False)
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = strict_schema(node["additionalProperties"], top=False)
    is_object = node.get("type") == "object" or "properties" in node
    if (
        is_object
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if node.get("x-kubernetes-int-or-string") and "type" not in node:
        out["type"] = ["integer", "string"]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    return out


def _crd_docs(paths: Iterable[Path]) -> Iterator[Mapping[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in paths:
        for doc in yaml.load_all(path.read_text(), Loader=loader):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                yield doc


@cache
def _validators(paths: tuple[Path, ...]) -> dict[tuple[str, str], Any]:
    """(apiVersion, kind) -> a validator of that served version's strict schema."""
    found = {}
    for crd in _crd_docs(paths):
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("served"):
                schema = strict_schema(version["schema"]["openAPIV3Schema"])
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                found[key] = _Validator(schema)
    return found


@cache
def _installed() -> tuple[Path, ...]:
    return tuple(crds.crd_files())


def _path(parts: Iterable[str | int]) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
    return text.removeprefix(".")


def _problems(error: jsonschema.ValidationError) -> list[str]:
    at = list(error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = error.schema.get("properties", {})
        # Worded like the API server's strict field validation: unknown field "spec.x".
        return [
            f"{_path([*at, name])}: unknown field" for name in error.instance if name not in known
        ]
    return [f"{_path(at) or '(the object)'}: {error.message}"]


def validate(obj: Mapping[str, Any], crd_files: Sequence[Path] | None = None) -> None:
    """Check `obj` against the schema its apiVersion and kind have in `crd_files` (by default
    the installed Gateway API CRDs).

    Raises CRDValidationError naming every problem, LookupError when no CRD there serves that
    apiVersion and kind, harness.core.tools.ToolError when the CRDs are not installed.
    """
    paths = tuple(crd_files) if crd_files is not None else _installed()
    key = (obj.get("apiVersion"), obj.get("kind"))
    validator = _validators(paths).get(key)  # type: ignore[arg-type]
    if validator is None:
        raise LookupError(f"no CRD in {[p.name for p in paths]} serves {key[0]} {key[1]}")
    problems = sorted(
        problem for error in validator.iter_errors(obj) for problem in _problems(error)
    )
    if problems:
        name = (obj.get("metadata") or {}).get("name", "(no name)")
        raise CRDValidationError(f"{key[1]}/{name}", problems)
