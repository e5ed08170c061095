"""Values sets for the chart, generated for the property tests (tests/chart/test_properties.py).

`schema_values()` draws values sets from `values.schema.json`: the walk over the schema's
objects, lists and maps is done here, and every leaf without a pattern (enums, integers,
numbers, booleans, nullable types, free text) is drawn by `hypothesis_jsonschema.from_schema`.
Not the whole schema: hypothesis-jsonschema rebuilds its object strategies on every draw and
its regex generation is slow for the DNS-name patterns, about 100 ms per values set for this
schema; this way it is a few ms. The schema is trimmed and simplified here, never in the
chart:

- each of the schema's `pattern`s has a strategy of its own (`PATTERNS`), simpler than the
  regex, whose strings are checked against the real pattern (and length) on every draw;
- where the schema passes a Kubernetes type through as a bare `{"type": "object"}`
  (affinity, volume sources, env sources, autoscaler behaviour, HTTPRoute header matches),
  anything would only test that Kubernetes refuses nonsense: those draw valid Kubernetes
  examples from `PASSTHROUGH`, and `OVERRIDES` narrows what the HTTPRoute CRD narrows;
- the bounds the schema leaves open are closed: numbers within a million, free text of at
  most 20 characters, lists and maps of at most 3 items.

`rollout_values()` aims at the capacity guard, which the schema alone rarely reaches: both
kinds, replica counts, pool sizes around replicaCount + surge, surge and unavailable
percentages that round, autoscaling on and off with maxReplicas around the pool size.

`effective()` merges a values set into values.yaml the way helm does, for the properties
that need to know what the chart saw (ipool.enabled, the pool size, nameOverride);
`schema_errors()` checks a set against the real schema, as helm does.

Chart bugs found by the properties are steered around (`KNOWN_CHART_BUGS`), each pinned by a
strict xfail case in tests/chart/values/property-regressions.yaml, so that the properties go
on finding new ones.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import string
from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import Any

import jsonschema
import yaml
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from harness.chart.render import CHART_DIR

Values = dict[str, Any]
Strategy = st.SearchStrategy

SCHEMA: dict[str, Any] = json.loads((CHART_DIR / "values.schema.json").read_text())
DEFAULTS: Values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
CHART = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())

# Chart bugs these properties found, each pinned by a strict xfail case in
# tests/chart/values/property-regressions.yaml (its `chart_bug` names the id here). The
# strategies steer around them where the id is used below, so that the properties go on
# finding new ones; when the chart is fixed, the xfail case fails: drop the id and its steering.
KNOWN_CHART_BUGS = {
    "integers-print-as-floats": (
        "Helm reads a values file's numbers as float64 and Go prints 1000000.0 as 1e+06: the "
        "chart's own numbers go through int, but a map it passes through toYaml (a probe's "
        "periodSeconds, say) still renders 1e+06"
    ),
    "to-yaml-drops-what-yaml-cannot-hold": (
        "Helm's toYaml renders nothing when a value holds a character YAML cannot carry "
        "(U+007F to U+009F): the annotations, env or probes it was given vanish silently"
    ),
}
# Integers the schema leaves unbounded are drawn below a million ("integers-print-as-floats";
# unquoted, 1e+06 is a number to Go's YAML, as Kubernetes' clients read it, but a string to
# PyYAML, which parses helm template's output when the persistent renderer is not there).
INTEGER_LIMIT = 999_999


# Characters YAML cannot carry raw ("to-yaml-drops-what-yaml-cannot-hold").
NOT_YAML_CHARACTERS = "".join(map(chr, range(0x7F, 0xA0))) + "\ufffe\uffff"
NOT_YAML_PRINTABLE = re.compile(f"[{NOT_YAML_CHARACTERS}]")


def _text(min_size: int = 0, max_size: int = 20) -> Strategy:
    """Free text, of characters YAML can hold ("to-yaml-drops-what-yaml-cannot-hold")."""
    characters = st.characters(codec="utf-8", exclude_characters=NOT_YAML_CHARACTERS)
    return st.text(characters, min_size=min_size, max_size=max_size)


# Fields of Kubernetes types newer than the oldest version the chart allows: a values set
# that uses one is validated against the newest Kubernetes only (its users run one).
NEWER_THAN_OLDEST = {
    "extraVolumes[].image": "1.31",
    "extraEnv[].valueFrom.fileKeyRef": "1.34",
    "podSecurityContext.seLinuxChangePolicy": "1.32",
    "podSecurityContext.supplementalGroupsPolicy": "1.31",
}

# ---------------------------------------------------------------------------------------
# Patterns: each of the schema's regexes, with a strategy that draws strings it matches.

LOWER_DIGITS = string.ascii_lowercase + string.digits
ALNUM = string.ascii_letters + string.digits


def _word(alphabet: str, inner: str, max_size: int, min_size: int = 1) -> Strategy:
    """Strings of `alphabet` + `inner`, min_size..max_size long, `inner` never at either
    end; built that way rather than filtered, so that no draw is wasted."""
    edge = st.sampled_from(alphabet)
    if max_size == 1:
        return edge
    middle = st.text(alphabet + inner, min_size=max(0, min_size - 2), max_size=max_size - 2)
    both = st.tuples(edge, middle, edge).map("".join)
    return both if min_size > 1 else st.one_of(edge, both)


def _dns_label(max_size: int = 63) -> Strategy:
    short = _word(LOWER_DIGITS, "-", min(12, max_size))
    # Long names exercise the chart's truncations (63, and 54 for the headless Service).
    long = _word(LOWER_DIGITS, "-", max_size, min_size=max(1, max_size - 10))
    return st.one_of(short, long)


def _dns_subdomain(labels: int = 4) -> Strategy:
    """Up to `labels` DNS labels of up to 12 characters: far below 253."""
    return st.lists(_word(LOWER_DIGITS, "-", 12), min_size=1, max_size=labels).map(".".join)


def _qualified_name() -> Strategy:
    name = _word(ALNUM, "-_.", 20)
    prefixed = st.tuples(_dns_subdomain(labels=3), name).map("/".join)
    return st.one_of(name, prefixed)


def _label_value() -> Strategy:
    return st.one_of(st.just(""), _word(ALNUM, "-_.", 20), _word(ALNUM, "-_.", 63, min_size=60))


def _hostname() -> Strategy:
    return st.tuples(st.sampled_from(["", "*."]), _dns_subdomain()).map("".join)


def _percent() -> Strategy:
    # With leading zeros too: Kubernetes reads "09%" as 9%, and so must the guard.
    return st.one_of(
        st.integers(0, 100).map(str),
        st.integers(101, 1000).map(str),
        st.integers(0, 100).map(lambda n: f"0{n}"),
    ).map(lambda n: f"{n}%")


def _quantity() -> Strategy:
    number = st.one_of(
        st.integers(0, INTEGER_LIMIT).map(str),
        st.tuples(st.integers(0, 9999), st.integers(0, 999)).map(lambda p: f"{p[0]}.{p[1]}"),
    )
    suffix = st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "Ti", "e3", "E2", "e-3"])
    return st.tuples(st.sampled_from(["", "+"]), number, suffix).map("".join)


def _cidr() -> Strategy:
    """Ranges of both families, written as Python writes them; with host bits set one time
    in four (the API server refuses those since 1.33, and so does the chart, by name)."""

    def cidr(address: ipaddress.IPv4Address | ipaddress.IPv6Address, prefix: int, keep: int):
        if keep == 0:
            return f"{address}/{prefix}"
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))

    v4 = st.builds(cidr, st.ip_addresses(v=4), st.integers(0, 32), st.integers(0, 3))
    v6 = st.builds(cidr, st.ip_addresses(v=6), st.integers(0, 128), st.integers(0, 3))
    return st.one_of(v4, v6)


def _image_repository() -> Strategy:
    component = _word(LOWER_DIGITS, "._-", 12)
    host = st.tuples(component, st.sampled_from(["", ":5000", ":443"])).map("".join)
    return st.tuples(host, st.lists(component, max_size=3)).map(lambda p: "/".join([p[0], *p[1]]))


def _image_tag() -> Strategy:
    first = st.sampled_from(ALNUM + "_")
    rest = st.text(ALNUM + "_.-", max_size=127)
    versions = st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 20)).map(
        lambda v: f"{v[0]}.{v[1]}.{v[2]}"
    )
    return st.one_of(st.just(""), versions, st.tuples(first, rest).map("".join))


def _path() -> Strategy:
    # Any text after the slash: the chart quotes it ("/a: b" once broke the YAML).
    return _text(max_size=20).map(lambda rest: "/" + rest)


PATTERNS: dict[str, Callable[[], Strategy]] = {
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$": lambda: st.one_of(st.just(""), _dns_label()),
    r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$": _label_value,
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$": _qualified_name,
    r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$": (
        _image_repository
    ),
    r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$": _image_tag,
    r"^(sha256:[a-f0-9]{64})?$": lambda: st.one_of(
        st.just(""), st.text("0123456789abcdef", min_size=64, max_size=64).map("sha256:".__add__)
    ),
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$": _dns_subdomain,
    r"^[0-9]+%$": _percent,
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$": lambda: st.one_of(
        st.just(""), _dns_subdomain()
    ),
    r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$": (
        _quantity
    ),
    r"^[^=]+$": lambda: _text(1).map(lambda t: t.replace("=", "-")),
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": _dns_label,
    r"^/": lambda: _text().map("/".__add__),
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$": _hostname,
    r"^([0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*/[0-9]{1,3})$": _cidr,
    # Kubernetes' own name rules, ASCII only: drawn from the pattern itself.
    **{
        pattern: partial(st.from_regex, pattern, fullmatch=True)
        for pattern in (
            r"^[a-z](-?[a-z0-9])*$",  # a port's name
            r"^[-A-Za-z0-9]+$",  # an HTTP header's name, as Kubernetes takes it
            r"^[-._a-zA-Z][-._a-zA-Z0-9]*$",  # an environment variable's name
            r"^([-._a-zA-Z][-._a-zA-Z0-9]*)?$",  # an envFrom prefix
            r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$",  # a relative path
            r"^[A-Za-z0-9_$(-][A-Za-z0-9_.$()-]*(/[A-Za-z0-9_$(-][A-Za-z0-9_.$()-]*)*$",
            r"^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",  # a sysctl
            r"^(([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$",  # a label key, or none
        )
    },
}

# ---------------------------------------------------------------------------------------
# Kubernetes types the chart's schema passes through as {"type": "object"}: valid examples.

_SELECTOR = {"matchLabels": {"app.kubernetes.io/name": "dummy-flask-app"}}
_POD_AFFINITY = [
    {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 100,
                "podAffinityTerm": {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": _SELECTOR,
                },
            }
        ]
    },
    {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "topology.kubernetes.io/zone", "labelSelector": _SELECTOR}
        ]
    },
]
_SCALING = [
    {},
    {"stabilizationWindowSeconds": 300},
    {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]},
    {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
]
PASSTHROUGH: dict[str, list[Any]] = {
    "global": [{}, {"imageRegistry": "registry.example.com"}],
    "autoscaling.behavior.scaleUp": _SCALING,
    "autoscaling.behavior.scaleDown": _SCALING,
    "resources.claims[]": [{"name": "gpu"}],
    "extraEnv[].valueFrom.configMapKeyRef": [{"name": "settings", "key": "mode"}],
    "extraEnv[].valueFrom.fieldRef": [{"fieldPath": "metadata.name"}],
    "extraEnv[].valueFrom.fileKeyRef": [{"volumeName": "settings", "path": "env", "key": "MODE"}],
    "extraEnv[].valueFrom.resourceFieldRef": [{"resource": "limits.memory"}],
    "extraEnv[].valueFrom.secretKeyRef": [{"name": "credentials", "key": "token"}],
    "extraVolumes[].awsElasticBlockStore": [{"volumeID": "vol-0a1b"}],
    "extraVolumes[].azureDisk": [
        {"diskName": "data", "diskURI": "https://store.blob.core.windows.net/vhds/data.vhd"}
    ],
    "extraVolumes[].azureFile": [{"secretName": "azure", "shareName": "data"}],
    "extraVolumes[].cephfs": [{"monitors": ["10.0.0.1:6789"]}],
    "extraVolumes[].cinder": [{"volumeID": "data"}],
    "extraVolumes[].configMap": [{"name": "settings"}, {"name": "settings", "optional": True}],
    "extraVolumes[].csi": [{"driver": "csi.example.com"}],
    "extraVolumes[].downwardAPI": [
        {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}
    ],
    "extraVolumes[].emptyDir": [{}, {"medium": "Memory", "sizeLimit": "16Mi"}],
    "extraVolumes[].ephemeral": [
        {
            "volumeClaimTemplate": {
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                }
            }
        }
    ],
    "extraVolumes[].fc": [{"wwids": ["3600508b400105e210000900000490000"]}],
    "extraVolumes[].flexVolume": [{"driver": "example.com/flex"}],
    "extraVolumes[].flocker": [{"datasetName": "data"}],
    "extraVolumes[].gcePersistentDisk": [{"pdName": "data"}],
    "extraVolumes[].gitRepo": [{"repository": "https://git.example.com/repo.git"}],
    "extraVolumes[].glusterfs": [{"endpoints": "glusterfs", "path": "data"}],
    "extraVolumes[].hostPath": [{"path": "/var/data"}, {"path": "/run", "type": "Directory"}],
    "extraVolumes[].image": [{"reference": "registry.example.com/data:1"}],
    "extraVolumes[].iscsi": [
        {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.2001-04.com.example:data", "lun": 0}
    ],
    "extraVolumes[].nfs": [{"server": "10.0.0.1", "path": "/exports"}],
    "extraVolumes[].persistentVolumeClaim": [{"claimName": "data"}],
    "extraVolumes[].photonPersistentDisk": [{"pdID": "data"}],
    "extraVolumes[].portworxVolume": [{"volumeID": "data"}],
    "extraVolumes[].projected": [{"sources": [{"serviceAccountToken": {"path": "token"}}]}],
    "extraVolumes[].quobyte": [{"registry": "quobyte:7861", "volume": "data"}],
    "extraVolumes[].rbd": [{"monitors": ["10.0.0.1:6789"], "image": "data"}],
    "extraVolumes[].scaleIO": [
        {
            "gateway": "https://scaleio",
            "system": "data",
            "secretRef": {"name": "scaleio"},
            "volumeName": "data",
        }
    ],
    "extraVolumes[].secret": [{"secretName": "credentials"}, {"secretName": "a", "optional": True}],
    "extraVolumes[].storageos": [{"volumeName": "data"}],
    "extraVolumes[].vsphereVolume": [{"volumePath": "[datastore] data.vmdk"}],
    "affinity.nodeAffinity": [
        {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
                ]
            }
        },
        {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 1,
                    "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]},
                }
            ]
        },
    ],
    "affinity.podAffinity": _POD_AFFINITY,
    "affinity.podAntiAffinity": _POD_AFFINITY,
    "httpRoute.matches[].headers[]": [
        {"name": "x-canary", "value": "true"},
        {"type": "RegularExpression", "name": "user-agent", "value": ".*Mobile.*"},
    ],
    "httpRoute.matches[].queryParams[]": [{"name": "version", "value": "2"}],
}

# Strings the HTTPRoute CRD constrains further than the chart's schema does.
_CRD_KIND = st.text(string.ascii_letters, min_size=1, max_size=20)


def _volume() -> Strategy:
    """An extra volume: a name and one source (the schema's minProperties: 2), the source
    one of PASSTHROUGH's examples."""
    sources = sorted(key.split(".")[-1] for key in PASSTHROUGH if key.startswith("extraVolumes"))
    return st.tuples(_dns_label(), st.sampled_from(sources)).flatmap(
        lambda pair: st.sampled_from(PASSTHROUGH[f"extraVolumes[].{pair[1]}"]).map(
            lambda source: {"name": pair[0], pair[1]: source}
        )
    )


def _list_map(path: str) -> Callable[[], Strategy]:
    """A list of PASSTHROUGH's examples at `path[]`, unique by name, as the CRD keys it."""
    return lambda: st.lists(
        st.sampled_from(PASSTHROUGH[f"{path}[]"]), max_size=MAX_ITEMS, unique_by=lambda m: m["name"]
    )


OVERRIDES: dict[str, Callable[[], Strategy]] = {
    "extraVolumes[]": _volume,
    "httpRoute.matches[].headers": _list_map("httpRoute.matches[].headers"),
    "httpRoute.matches[].queryParams": _list_map("httpRoute.matches[].queryParams"),
    "ingress.hosts[].paths[].path": _path,
    "httpRoute.parentRefs[].name": lambda: _dns_subdomain(),
    "httpRoute.parentRefs[].sectionName": lambda: _dns_label(),
    "httpRoute.parentRefs[].group": lambda: st.sampled_from(["", "gateway.networking.k8s.io"]),
    "httpRoute.parentRefs[].kind": lambda: _CRD_KIND,
    "httpRoute.matches[].path.value": lambda: _path(),
}

# ---------------------------------------------------------------------------------------
# The walk over the schema.

MAX_ITEMS = 3
LEAVES = {"string", "integer", "number", "boolean", "null"}


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = {**SCHEMA["definitions"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _node_at(path: str) -> Mapping[str, Any]:
    node: Mapping[str, Any] = SCHEMA
    for name in path.split("."):
        node = _resolve(node)["properties"][name]
    return _resolve(node)


def _pattern(node: Mapping[str, Any], path: str) -> Strategy:
    pattern = node["pattern"]
    if pattern not in PATTERNS:
        raise KeyError(f"{path}: no strategy for the schema's pattern {pattern!r}")
    compiled = re.compile(pattern)
    low, high = node.get("minLength", 0), node.get("maxLength", float("inf"))
    return PATTERNS[pattern]().filter(
        lambda text: low <= len(text) <= high and compiled.search(text) is not None
    )


def strategy_for(node: Mapping[str, Any], path: str) -> Strategy:
    """Values that `node` (a part of values.schema.json, at `path`) accepts."""
    node = _resolve(node)
    if path in OVERRIDES:
        return OVERRIDES[path]()
    if path in PASSTHROUGH:
        return st.sampled_from(PASSTHROUGH[path])
    types = node.get("type")
    if "anyOf" in node:
        return st.one_of([strategy_for(option, path) for option in node["anyOf"]])
    if isinstance(types, list) and ("pattern" in node or not set(types) <= LEAVES):
        return st.one_of([strategy_for({**node, "type": kind}, path) for kind in types])
    if types == "object" or "properties" in node:
        return _object(node, path)
    if types == "array":
        items = strategy_for(node.get("items", {}), f"{path}[]")
        return st.lists(items, min_size=node.get("minItems", 0), max_size=MAX_ITEMS)
    if types == "string" and "pattern" in node:
        return _pattern(node, path)
    if types == "string" and "enum" not in node:
        return _text(node.get("minLength", 0), min(node.get("maxLength", 20), 20))
    if "enum" in node or set(_as_list(types)) <= LEAVES:
        return from_schema(_bounded(node))
    raise KeyError(f"{path}: the walk does not know {dict(node)}")


def _as_list(types: str | list[str] | None) -> list[str]:
    return [types] if isinstance(types, str) else list(types or ["(none)"])


def _bounded(node: Mapping[str, Any]) -> dict[str, Any]:
    """A leaf's schema with the bounds the schema leaves open: numbers within a million
    ("integers-print-as-floats")."""
    bounded = {k: v for k, v in node.items() if k != "description"}
    if {"integer", "number"} & set(_as_list(node.get("type"))):
        bounded["minimum"] = max(node.get("minimum", -INTEGER_LIMIT), -INTEGER_LIMIT)
        bounded["maximum"] = min(node.get("maximum", INTEGER_LIMIT), INTEGER_LIMIT)
    return bounded


def _object(node: Mapping[str, Any], path: str) -> Strategy:
    properties = node.get("properties", {})
    extra = node.get("additionalProperties")
    if not properties and not isinstance(extra, dict):
        raise KeyError(f"{path}: a free-form object needs an entry in PASSTHROUGH")
    if isinstance(extra, dict):
        names = node.get("propertyNames", {"type": "string"})
        keys = strategy_for({"type": "string", **names}, f"{path}.<key>")
        return st.dictionaries(keys, strategy_for(extra, f"{path}.*"), max_size=MAX_ITEMS)
    join = f"{path}." if path else ""
    fields = {name: strategy_for(sub, join + name) for name, sub in properties.items()}
    required = set(node.get("required", ()))
    if len(required) < node.get("minProperties", 0):
        # One more property drawn for certain, rather than a filter wasting draws.
        assert node["minProperties"] == len(required) + 1, path
        return st.sampled_from(sorted(set(fields) - required)).flatmap(
            lambda name: _fixed(fields, {*required, name})
        )
    return _fixed(fields, required)


def _fixed(fields: Mapping[str, Strategy], required: set[str]) -> Strategy:
    return st.fixed_dictionaries(
        {name: fields[name] for name in fields if name in required},
        optional={name: fields[name] for name in fields if name not in required},
    )


@cache
def top_level() -> dict[str, Strategy]:
    """Each top-level key of the schema with the strategy for its value."""
    return {name: strategy_for(sub, name) for name, sub in SCHEMA["properties"].items()}


@st.composite
def schema_values(draw: st.DrawFn) -> Values:
    """A values set that overrides about a fifth of values.yaml's top-level keys, each drawn
    from the schema; the workload kind and ipool are always drawn. Each key is in or out by a
    draw of its own, so that shrinking drops the keys a failure does not need."""
    fields = top_level()
    values: Values = {
        "workload": {"kind": draw(st.sampled_from(["Deployment", "StatefulSet"]))},
        "ipool": draw(fields["ipool"]),
    }
    for name in sorted(fields):
        if name not in values and draw(st.integers(0, 4)) == 4:
            values[name] = draw(fields[name])
    return values


# ---------------------------------------------------------------------------------------
# Targeted values for the capacity guard.


def _rounding_percent(replicas: int) -> Strategy:
    """Percentages of `replicas` just below, at and above a whole number of pods."""
    if replicas == 0:
        return st.integers(0, 100).map(lambda n: f"{n}%")
    near = st.integers(0, replicas + 1).flatmap(
        lambda pods: st.integers(-1, 1).map(lambda d: max(0, (100 * pods) // replicas + d))
    )
    return st.one_of(near, st.integers(0, 200)).map(lambda n: f"{n}%")


def _limit(replicas: int) -> Strategy:
    return st.one_of(st.integers(0, 4), _rounding_percent(replicas))


@st.composite
def rollout_values(
    draw: st.DrawFn,
    kinds: tuple[str, ...] = ("Deployment", "StatefulSet"),
    ipool: tuple[bool, ...] = (True, True, True, False),
) -> Values:
    """Values around the capacity guard's edges, of `kinds`, ipool on or off as drawn from
    `ipool` (on three times in four by default)."""
    kind = draw(st.sampled_from(kinds))
    replicas = draw(st.integers(0, 12))
    values: Values = {"workload": {"kind": kind}, "replicaCount": replicas}
    most = replicas
    if draw(st.booleans()):
        low = draw(st.integers(1, 12))
        high = draw(st.integers(max(1, low - 1), low + 8))
        values["autoscaling"] = {"enabled": True, "minReplicas": low, "maxReplicas": high}
        most = high
    strategy = draw(
        st.sampled_from(["none", "rolling", "rolling-surge-only", "recreate", "type-only"])
    )
    surge = 0
    if strategy in ("rolling", "rolling-surge-only"):
        update = {"maxSurge": draw(_limit(most))}
        if strategy == "rolling":
            update["maxUnavailable"] = draw(_limit(most))
        values["strategy"] = {"type": "RollingUpdate", "rollingUpdate": update}
        surge = _pods(update["maxSurge"], most)
    elif strategy == "recreate":
        values["strategy"] = {"type": "Recreate"}
    elif strategy == "type-only":
        values["strategy"] = {"type": "RollingUpdate"}
        surge = _pods("25%", most)
    size = draw(
        st.one_of(
            st.none(),
            st.integers(-2, 2).map(lambda d: max(1, most + surge + d)),
            st.integers(1, 20),
        )
    )
    values["ipool"] = {"enabled": draw(st.sampled_from(ipool)), "size": size}
    return values


def _pods(limit: int | str, replicas: int) -> int:
    text = str(limit)
    if text.endswith("%"):
        return -(-int(text[:-1]) * replicas // 100)
    return int(text)


# ---------------------------------------------------------------------------------------
# What helm makes of a values set.


def effective(values: Mapping[str, Any], defaults: Mapping[str, Any] = DEFAULTS) -> Values:
    """`values` merged into `defaults` as helm does: maps merge key by key, anything else
    replaces, and a null removes the default."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = effective(value, merged[key])
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@cache
def _schema_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(SCHEMA)


def schema_errors(values: Mapping[str, Any]) -> list[str]:
    """What values.schema.json says against `values` as helm checks them (merged)."""
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _schema_validator().iter_errors(effective(values))
    ]


def uses_newer_fields(values: Mapping[str, Any]) -> list[str]:
    """The NEWER_THAN_OLDEST fields `values` sets."""
    found = []
    for path in NEWER_THAN_OLDEST:
        if _present(values, path.replace("[]", ".[]").split(".")):
            found.append(path)
    return found


def _present(node: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    if head == "[]":
        return isinstance(node, list) and any(_present(item, rest) for item in node)
    return isinstance(node, Mapping) and head in node and _present(node[head], rest)


@cache
def value_paths() -> frozenset[str]:
    """Every key values.schema.json describes, dotted, lists as `[]`: `ipool.size`,
    `topologySpreadConstraints[].minDomains`."""
    found: set[str] = set()

    def walk(node: Mapping[str, Any], path: str) -> None:
        node = _resolve(node)
        if path:
            found.add(path)
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{name}" if path else name)
        if isinstance(node.get("items"), Mapping):
            walk(node["items"], f"{path}[]")

    walk(SCHEMA, "")
    return frozenset(found)


def inside_free_form(key: str | None) -> bool:
    """Whether `key` lies inside an object the schema leaves free-form (a PASSTHROUGH path,
    such as `extraEnv[].valueFrom.fileKeyRef.volumeName`): a key the chart may name in a
    refusal though the schema lists no such property."""
    return key is not None and any(key.startswith(f"{path}.") for path in PASSTHROUGH)
