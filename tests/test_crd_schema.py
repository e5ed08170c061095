"""Custom resources are checked against their CRD as strictly as the API server checks them: the
pinned Gateway API HTTPRoute, and the Kubernetes schema extensions on a small CRD of our own."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from harness.toolchain import crds
from tests.support.crd_schema import CRDValidationError, validate

ROUTE: dict[str, Any] = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {
        "name": "dummy-flask-app",
        "namespace": "opseng",
        "labels": {"app.kubernetes.io/name": "dummy-flask-app"},
    },
    "spec": {
        "parentRefs": [{"name": "public", "namespace": "gateways", "sectionName": "https"}],
        "hostnames": ["dummy-flask-app.example.test"],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [{"name": "dummy-flask-app", "port": 80}],
            }
        ],
    },
}


def route_with(path: str, value: Any) -> dict[str, Any]:
    """ROUTE with the field at `path` ("spec.rules[0].backendRefs[0].port") set to `value`."""
    route = copy.deepcopy(ROUTE)
    *parents, last = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    node: Any = route
    for part in parents:
        node = node[part]
    node[last] = value
    return route


def problems_of(obj: dict[str, Any], *args: Any) -> list[str]:
    with pytest.raises(CRDValidationError) as refused:
        validate(obj, *args)
    return refused.value.problems


def test_the_installed_httproute_crd_is_the_pinned_release_of_the_standard_channel():
    assert re.fullmatch(r"v1\.\d+\.\d+", crds.VERSION), "a stable v1.x release"
    [path] = crds.crd_files()
    assert path.parent == crds.HOME
    assert crds.installed_version(path) == crds.VERSION
    crd = yaml.safe_load(path.read_text())
    assert crd["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] == "standard"
    assert crd["spec"]["names"]["kind"] == "HTTPRoute"


def test_a_route_to_a_service_port_through_a_gateway_passes():
    validate(ROUTE)


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("spec.parentRef", [{"name": "public"}], "spec.parentRef: unknown field"),
        (
            "spec.rules[0].backendRefs[0].prot",
            80,
            "spec.rules[0].backendRefs[0].prot: unknown field",
        ),
        ("metadata.label", {"a": "b"}, "metadata.label: unknown field"),
    ],
)
def test_an_unknown_field_is_refused_by_its_full_path(path, value, problem):
    assert problems_of(route_with(path, value)) == [problem]


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("spec.rules[0].backendRefs[0].port", "80", "'80' is not of type 'integer'"),
        ("spec.hostnames", "dummy-flask-app.example.test", "is not of type 'array'"),
        ("spec.parentRefs[0].name", None, "None is not of type 'string'"),
        ("metadata.labels", {"version": 1}, "1 is not of type 'string'"),
    ],
)
def test_a_wrong_type_is_refused_by_its_path(path, value, problem):
    [found] = problems_of(route_with(path, value))
    shown = path.replace(".labels", ".labels.version")
    assert found.startswith(f"{shown}: ") and problem in found, found


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.rules[0].matches[0].path.type", "Prefix"),
        ("spec.rules[0].backendRefs[0].port", 70000),
        ("spec.hostnames", ["Not_A_Hostname"]),
        ("metadata.labels", {"version": "not a label value"}),
    ],
)
def test_a_value_the_schema_does_not_allow_is_refused(path, value):
    assert problems_of(route_with(path, value))


def test_metadata_needs_a_name():
    route = copy.deepcopy(ROUTE)
    del route["metadata"]["name"]
    assert problems_of(route) == ["metadata: 'name' is a required property"]


def test_every_problem_is_named_at_once():
    route = route_with("spec.parentRef", [])
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = "http"
    assert len(problems_of(route)) == 2


def test_a_kind_no_crd_serves_is_a_lookup_error():
    with pytest.raises(LookupError, match=r"gateway\.networking\.k8s\.io/v1 Gateway"):
        validate({**ROUTE, "kind": "Gateway"})


# A CRD of our own that uses each Kubernetes extension the validator handles.
WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.test}
spec:
  group: example.test
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [size, mode]
            properties:
              size: {x-kubernetes-int-or-string: true}
              mode: {type: string, default: fast}
              note: {type: string, nullable: true}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
              empty: {type: object}
              template: {type: object, x-kubernetes-embedded-resource: true,
                         x-kubernetes-preserve-unknown-fields: true}
              tags: {type: array, items: {type: string}, x-kubernetes-list-type: set}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [port, protocol]
                items:
                  type: object
                  required: [port]
                  properties:
                    port: {type: integer}
                    protocol: {type: string, default: TCP}
  - name: v0
    served: false
    storage: false
    schema:
      openAPIV3Schema: {type: object}
"""


@pytest.fixture
def widget_crd(tmp_path):
    path = tmp_path / "widgets.yaml"
    path.write_text(WIDGET_CRD)
    return [path]


def widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.test/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 1, **spec},
    }


def test_the_schema_extensions_allow_what_the_server_allows(widget_crd):
    validate(widget(size="50%"), widget_crd)
    validate(widget(note=None), widget_crd)
    validate(widget(extra={"anything": {"goes": 1}}), widget_crd)
    validate(widget(template={"apiVersion": "v1", "kind": "Pod", "spec": {}}), widget_crd)
    validate(widget(ports=[{"port": 80}, {"port": 80, "protocol": "UDP"}]), widget_crd)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"size": 1.5}, "spec.size: 1.5 is not of type 'integer', 'string'"),
        ({"empty": {"x": 1}}, "spec.empty.x: unknown field"),
        ({"template": {"kind": "Pod"}}, "spec.template: 'apiVersion' is a required property"),
        ({"tags": ["a", "a"]}, "spec.tags: ['a', 'a'] has non-unique elements"),
        (
            {"ports": [{"port": 80}, {"port": 80, "protocol": "TCP"}]},
            "spec.ports[1]: duplicate entry (port=80, protocol='TCP'), also at [0]",
        ),
    ],
)
def test_the_schema_extensions_refuse_what_the_server_refuses(widget_crd, spec, problem):
    assert problems_of(widget(**spec), widget_crd) == [problem]


def test_a_version_the_crd_does_not_serve_is_a_lookup_error(widget_crd):
    with pytest.raises(LookupError):
        validate({**widget(), "apiVersion": "example.test/v0"}, widget_crd)
