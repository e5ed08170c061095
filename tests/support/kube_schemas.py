"""Strict Kubernetes schema validation, fast enough for thousands of renders.

`kubernetes_validate.validate(obj, version, strict=True)` reads and parses the 1.3 MB
definitions file of the version on every call and resolves each `$ref` through a registry
while it validates: 20 to 150 ms per object. This module uses the same schema files (those
kubernetes-validate ships, found the way it finds them: the newest bundled version not newer
than the one asked for, its `-strict` variant, `<kind>-<group>-<version>.json`), inlines the
`$ref`s once per kind and version, and keeps one `jsonschema.Draft202012Validator` per kind and
version: well under a millisecond for most objects, two for a workload. The strict variant
is what refuses unknown fields (`additionalProperties: false` on every object).
tests/chart/test_properties.py checks that it agrees with kubernetes-validate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from packaging.version import Version

SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


def bundled_version(version: str) -> str:
    """The schema version kubernetes-validate uses for `version`: the newest one it ships
    that is not newer (by major.minor); none for a version newer than all it ships."""
    shipped = kubernetes_validate.utils.all_versions()
    wanted = _minor(version)
    found = [v for v in shipped if _minor(v) <= wanted]
    if not found or wanted > _minor(shipped[-1]):
        raise LookupError(f"kubernetes-validate ships no schema for Kubernetes {version}")
    return found[-1]


def _minor(version: str) -> Version:
    return Version(".".join(version.removeprefix("v").split(".")[:2]))


def schema_file(api_version: str, kind: str, version: str) -> Path:
    # As kubernetes-validate names them: rbac.authorization.k8s.io/v1 -> rbac-v1.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = SCHEMAS / f"v{bundled_version(version)}-local-strict"
    return folder / f"{kind.lower()}-{group_version}.json"


@cache
def _definitions(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "_definitions.json").read_text())["$defs"]


def _inline(node: Any, definitions: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`node` with every `$ref` replaced by what it points at (descriptions dropped)."""
    if isinstance(node, list):
        return [_inline(item, definitions, seen) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("description", "$ref", "$schema", "$id"):
            continue
        if key in ("properties", "$defs", "patternProperties"):
            out[key] = {name: _inline(sub, definitions, seen) for name, sub in value.items()}
        elif key in ("enum", "const", "required", "x-kubernetes-group-version-kind"):
            out[key] = value
        else:
            out[key] = _inline(value, definitions, seen)
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            raise ValueError(f"recursive $ref to {name}: cannot be inlined")
        target = _inline(definitions[name], definitions, (*seen, name))
        # A $ref with siblings applies both (draft 2020-12); here only descriptions are.
        return {"allOf": [target, out]} if out else target
    return out


@cache
def validator(api_version: str, kind: str, version: str) -> jsonschema.Draft202012Validator:
    """The strict schema of `kind` in Kubernetes `version`, inlined, ready to validate."""
    path = schema_file(api_version, kind, version)
    if not path.exists():
        raise LookupError(f"no schema for {api_version} {kind} in Kubernetes {version}")
    schema = _inline(json.loads(path.read_text()), _definitions(path.parent))
    return jsonschema.Draft202012Validator(schema)


# Verdicts by version and object: generated values sets render many identical objects (the
# ServiceAccount, the Services, the test Pod), and hashing one is cheaper than validating it.
_verdicts: dict[tuple[str, str], list[str]] = {}
_MAX_VERDICTS = 20_000


def problems(obj: Mapping[str, Any], version: str) -> list[str]:
    """Why Kubernetes `version` refuses `obj` under strict validation; [] when it accepts."""
    key = (version, json.dumps(obj, sort_keys=True))
    if key not in _verdicts:
        if len(_verdicts) >= _MAX_VERDICTS:
            _verdicts.clear()
        check = validator(obj["apiVersion"], obj["kind"], version)
        found = []
        for error in check.iter_errors(obj):
            path = ".".join(str(part) for part in error.absolute_path) or "(the object)"
            found.append(f"{path}: {error.message}")
        _verdicts[key] = sorted(found)
    return list(_verdicts[key])
