"""Properties of the chart over generated values (issue 12), on Helm 4 and Helm 3.

For every generated values set: it renders, or the chart's own `fail` refuses it naming a
key; every object is valid Kubernetes, strictly, for the oldest version the chart allows and
the newest; names, labels and selectors are what Kubernetes and upgrades need; and with
ipool on, the capacity guard and the rollout plan agree. The values come from
tests/support/values_strategies.py; the budget, seed and the count printed at the end from
tests/support/property_runs.py. A failing example is shrunk and printed with the seed:
add it to values/property-regressions.yaml, which every run checks as well.
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import Phase, given, note, seed, settings
from hypothesis import strategies as st

from harness.chart import render as rendering
from harness.chart.plan import Plan, plan_for
from harness.chart.render import (
    CHART_DIR,
    DEFAULT_RELEASE,
    Manifests,
    RenderError,
)
from harness.core.tools import tool_path
from tests.chart.test_kubernetes_schemas import KUBE_VERSIONS
from tests.support import crd_schema, kube_schemas, property_runs
from tests.support import values_strategies as vs

# A values set in, the render out (or RenderError).
Render = Callable[[Mapping[str, Any]], Manifests]

# The oldest Kubernetes the chart allows (Chart.yaml's kubeVersion) and the newest with
# bundled schemas.
OLDEST, NEWEST = KUBE_VERSIONS
RELEASE = DEFAULT_RELEASE
CHART_NAME = vs.CHART["name"]
REGRESSIONS = Path(__file__).parent / "values" / "property-regressions.yaml"

# The property runs the budget is shared between: two properties, each on both Helms.
PROPERTY_RUNS = 4

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
CHART_REFUSAL = re.compile(r"execution error at \((?:[^)]*/)?templates/[^)]*\): (?P<message>.*)")
SCHEMA_REFUSAL = "values don't meet the specifications of the schema"
# The key a chart refusal starts with: "ipool.size: ...", "topologySpreadConstraints[0]...",
# "networkPolicy.from[0].ipBlock.cidr: ...", "resources.requests.ephemeral-storage (...".
MESSAGE_KEY = re.compile(
    r"(?P<key>[A-Za-z][A-Za-z0-9]*(\[\d+\])*(\.[A-Za-z][-A-Za-z0-9]*(\[\d+\])*)*)[:\s]"
)
CAPACITY_KEYS = {"ipool.size", "strategy"}
HELM_IDS = {"helm": "helm4", "helm3": "helm3"}


@pytest.fixture(scope="session")
def render_values(render) -> Render:
    """The render fixture's helm, given a values set."""
    return lambda values: render(values=values)


# ---------------------------------------------------------------------------------------
# The properties, as plain checks of one values set (hypothesis drives them below).


def refusal(error: RenderError) -> tuple[str, str]:
    """("chart", message) for the chart's own fail, ("schema", text) for values.schema.json,
    ("crash", text) for anything else: a template error, a nil pointer, broken YAML."""
    found = CHART_REFUSAL.search(error.stderr)
    if found:
        return "chart", found["message"].strip()
    if SCHEMA_REFUSAL in error.stderr:
        return "schema", error.stderr.strip()
    return "crash", error.stderr.strip()


def message_key(message: str) -> str | None:
    """The values key a chart refusal names first, with list indexes as `[]`."""
    found = MESSAGE_KEY.match(message)
    return re.sub(r"\[\d+\]", "[]", found["key"]) if found else None


def render_or_refusal(values: vs.Values, render: Render) -> Manifests | str:
    """The render of `values`, or the chart's refusal message, which must name a key."""
    try:
        return render(values)
    except RenderError as error:
        kind, text = refusal(error)
        assert kind != "crash", f"helm failed without a chart or schema refusal:\n{text}"
        assert kind != "schema", (
            f"a generated values set broke values.schema.json (a strategy bug): "
            f"{vs.schema_errors(values)}\n{text}"
        )
        key = message_key(text)
        assert key in vs.value_paths() or vs.inside_free_form(key), (
            f"the chart's refusal names no values key: {text}"
        )
        return text


def check_objects(manifests: Manifests, values: vs.Values) -> None:
    """Every property of a rendered values set."""
    chart = vs.effective(values)
    seen: set[tuple[str, str]] = set()
    for obj in manifests:
        what = f"{obj['kind']}/{obj['metadata']['name']}"
        check_kubernetes_schemas(obj, values)
        check_name(obj)
        check_labels(what, obj["metadata"].get("labels", {}))
        key = (obj["kind"], obj["metadata"]["name"])
        assert key not in seen, f"two objects are {what}"
        seen.add(key)
    workload = manifests.workload
    pod = workload["spec"]["template"]["metadata"]
    check_labels(f"{workload['kind']}'s pods", pod["labels"])
    check_selectors(manifests, chart)
    if workload["kind"] == "StatefulSet":
        check_governing_service(manifests)
    check_ipool_annotation(workload, chart)
    check_gunicorn_env(workload, chart)


def check_kubernetes_schemas(obj: Mapping[str, Any], values: vs.Values) -> None:
    what = f"{obj['kind']}/{obj['metadata']['name']}"
    if obj["apiVersion"].startswith("gateway.networking.k8s.io/"):
        try:  # not built in: the pinned Gateway API CRD's schema
            crd_schema.validate(obj)
        except crd_schema.CRDValidationError as error:
            raise AssertionError(f"{what} is not valid for its CRD: {error}") from None
        return
    # A values set that uses a field newer than the oldest Kubernetes is for newer clusters.
    versions = [NEWEST] if vs.uses_newer_fields(values) else [OLDEST, NEWEST]
    for version in versions:
        problems = kube_schemas.problems(obj, version)
        assert not problems, f"{what} is not valid Kubernetes {version}: {problems}"


def check_name(obj: Mapping[str, Any]) -> None:
    name = obj["metadata"]["name"]
    what = f"{obj['kind']}/{name!r}"
    assert isinstance(name, str), f"{what}: the name is a {type(name).__name__}, not a string"
    if obj["kind"] == "ServiceAccount":
        # serviceAccount.name may be a DNS subdomain, as Kubernetes allows for this kind.
        assert len(name) <= 253 and DNS_SUBDOMAIN.fullmatch(name), f"{what}: not a subdomain"
        return
    assert len(name) <= 63 and DNS_LABEL.fullmatch(name), f"{what}: not a DNS label"
    if obj["kind"] == "Service":
        # Service names are DNS-1035 labels: they start with a letter.
        assert DNS_1035_LABEL.fullmatch(name), f"{what}: not a DNS-1035 label"


def check_labels(what: str, labels: Mapping[Any, Any]) -> None:
    for key, value in labels.items():
        assert isinstance(key, str) and _qualified_name(key), f"{what}: bad label key {key!r}"
        assert isinstance(value, str), f"{what}: label {key} is {value!r}, not a string"
        assert len(value) <= 63 and LABEL_VALUE.fullmatch(value), (
            f"{what}: label {key} has a bad value {value!r}"
        )


def _qualified_name(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and not (len(prefix) <= 253 and DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= 63 and LABEL_NAME.fullmatch(name) is not None


def check_selectors(manifests: Manifests, chart: vs.Values) -> None:
    """The workload's selector is the release's name and instance only, so that neither the
    kind, the image tag nor the chart version changes it; every selector of the release is
    that one, and the pods carry it."""
    expected = {
        "app.kubernetes.io/name": chart.get("nameOverride") or CHART_NAME,
        "app.kubernetes.io/instance": RELEASE,
    }
    workload = manifests.workload
    selector = workload["spec"]["selector"]
    assert selector == {"matchLabels": expected}, f"the workload's selector is {selector}"
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    assert expected.items() <= pod_labels.items(), f"the pods {pod_labels} miss {expected}"
    others = [("Service", o["spec"]["selector"]) for o in manifests.of_kind("Service")]
    others += [
        (kind, o["spec"][field]["matchLabels"])
        for kind, field in (("PodDisruptionBudget", "selector"), ("NetworkPolicy", "podSelector"))
        for o in manifests.of_kind(kind)
    ]
    for kind, found in others:
        assert found == expected, f"the {kind}'s selector {found} is not the workload's"


def check_governing_service(manifests: Manifests) -> None:
    """A StatefulSet's serviceName is a headless Service of the release."""
    workload = manifests.workload
    name = workload["spec"]["serviceName"]
    service = manifests.find("Service", name)
    assert service is not None, f"serviceName {name!r} is no Service of the release"
    assert service["spec"].get("clusterIP") == "None", f"Service {name} is not headless"
    assert service["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE
    assert service["spec"]["selector"] == workload["spec"]["selector"]["matchLabels"]


def check_ipool_annotation(workload: Mapping[str, Any], chart: vs.Values) -> None:
    """The pool annotation is on the pods exactly when ipool.enabled, naming the pool."""
    ipool = chart["ipool"]
    annotations = workload["spec"]["template"]["metadata"].get("annotations") or {}
    if ipool["enabled"]:
        pool = ipool.get("name") or f"{workload['metadata']['name']}-ipool"
        assert annotations.get(ipool["annotationKey"]) == pool, (
            f"ipool is on but the pods' annotations are {annotations}"
        )
    else:
        assert ipool["annotationKey"] not in annotations, "ipool is off but the pods ask a pool"


def check_gunicorn_env(workload: Mapping[str, Any], chart: vs.Values) -> None:
    """The app container gets the gunicorn values as the numbers gunicorn.conf.py reads."""
    container = workload["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    gunicorn = chart["gunicorn"]
    expected = {
        "WEB_CONCURRENCY": str(gunicorn["workers"]),
        "GUNICORN_WORKER_CLASS": gunicorn["workerClass"],
        "GUNICORN_THREADS": str(gunicorn["threads"]),
        "GUNICORN_KEEPALIVE": str(gunicorn["keepAlive"]),
        "GUNICORN_GRACEFUL_TIMEOUT": str(gunicorn["gracefulTimeout"]),
        "GUNICORN_ACCESS_LOG": str(gunicorn["accessLog"]).lower(),
    }
    found = {name: env.get(name) for name in expected}
    assert found == expected, f"the app's gunicorn environment is {found}, not {expected}"


def pool_size(chart: vs.Values) -> int:
    """ipool.size, else its default: the most pods the release runs."""
    if chart["ipool"].get("size") is not None:
        return chart["ipool"]["size"]
    scaling = chart["autoscaling"]
    return scaling["maxReplicas"] if scaling["enabled"] else chart["replicaCount"]


def check_capacity(values: vs.Values, rendered: Manifests | str, render: Render) -> None:
    """With ipool on, an accepted set's rollout never needs more IPs than the pool holds,
    and a set refused for capacity would have needed more: the guard and the plan agree."""
    chart = vs.effective(values)
    if not chart["ipool"]["enabled"]:
        return
    size = pool_size(chart)
    if isinstance(rendered, str):
        if message_key(rendered) not in CAPACITY_KEYS:
            return
        unguarded = copy.deepcopy(values)
        unguarded["ipool"] = {**unguarded.get("ipool", {}), "enabled": False}
        without_guard = render_or_refusal(unguarded, render)
        if isinstance(without_guard, str):
            return  # refused for something else too, by name: no rollout to count
        found = _plan(without_guard)
        assert found.peak_pods > size, (
            f"refused for capacity ({rendered}), but the rollout needs {found.peak_pods} "
            f"IPs of the pool's {size}: {found}"
        )
        return
    found = _plan(rendered)
    assert found.pool_size == size, f"the workload records a pool of {found.pool_size}, not {size}"
    assert found.peak_ips is not None and found.peak_ips <= size, (
        f"accepted, but the rollout needs {found.peak_ips} IPs of the pool's {size}: {found}"
    )


def _plan(manifests: Manifests) -> Plan:
    workload = manifests.workload
    autoscaler = manifests.find("HorizontalPodAutoscaler", workload["metadata"]["name"])
    return plan_for(workload, autoscaler)


def check_values_set(values: vs.Values, render: Render) -> None:
    """Every property, for one values set."""
    rendered = render_or_refusal(values, render)
    if not isinstance(rendered, str):
        check_objects(rendered, values)
    check_capacity(values, rendered, render)


# ---------------------------------------------------------------------------------------
# Driving them: the budget's share per run, a seed per run and Helm.


def run_property(name: str, strategy: st.SearchStrategy, check: Callable[[vs.Values], None]):
    """Check `check` on generated values; counted and timed under `name`."""

    @seed(f"{property_runs.SEED}-{name}")
    @settings(property_runs.PROFILE, max_examples=property_runs.examples_per_run(PROPERTY_RUNS))
    @given(values=strategy)
    def holds(values: vs.Values) -> None:
        property_runs.count(name)
        note(f"{name}: repeat with DFA_PROPERTY_SEED={property_runs.SEED}")
        check(values)

    with property_runs.timed(name):
        holds()


def test_every_values_set_the_schema_allows_renders_valid_kubernetes_or_is_refused_by_name(
    helm, render_values
):
    run_property(
        f"schema-values[{HELM_IDS.get(helm.name, helm.name)}]",
        vs.schema_values(),
        lambda values: check_values_set(values, render_values),
    )


def test_the_ipool_guard_and_the_rollout_plan_agree_on_every_pool(helm, render_values):
    run_property(
        f"rollout-values[{HELM_IDS.get(helm.name, helm.name)}]",
        vs.rollout_values(),
        lambda values: check_values_set(values, render_values),
    )


def _regressions() -> list[Any]:
    cases = yaml.safe_load(REGRESSIONS.read_text())
    return [
        pytest.param(
            case["values"],
            id=case["id"],
            marks=[
                pytest.mark.xfail(
                    reason=f"{case['chart_bug']}: {vs.KNOWN_CHART_BUGS[case['chart_bug']]}",
                    strict=True,
                    raises=AssertionError,
                )
            ]
            if case.get("chart_bug")
            else [],
        )
        for case in cases
    ]


@pytest.mark.parametrize("values", _regressions())
def test_every_values_set_a_property_once_failed_on_keeps_every_property(render_values, values):
    assert not vs.schema_errors(values), "a regression case must be what the schema allows"
    check_values_set(values, render_values)


# ---------------------------------------------------------------------------------------
# The tools the properties rely on.


def test_the_generated_values_sets_are_what_values_schema_json_accepts():
    @settings(property_runs.PROFILE, max_examples=100)
    @given(values=st.one_of(vs.schema_values(), vs.rollout_values()))
    def accepted(values: vs.Values) -> None:
        assert vs.schema_errors(values) == []

    accepted()


# ---------------------------------------------------------------------------------------
# The properties bite: a guard that rounds the surge down is caught.


ROUNDING_UP = "{{- div (add $scaled 99) 100 -}}"


def test_a_guard_that_rounds_the_surge_down_fails_the_capacity_property(tmp_path):
    chart = tmp_path / "chart"
    shutil.copytree(CHART_DIR, chart)
    helpers = chart / "templates" / "_helpers.tpl"
    source = helpers.read_text()
    assert source.count(ROUNDING_UP) == 1, "the guard's round-up moved; update this test"
    helpers.write_text(source.replace(ROUNDING_UP, "{{- div $scaled 100 -}}"))
    render = partial(rendering.render, chart=chart, helm=tool_path("helm"))
    failing: list[vs.Values] = []

    def capacity(values: vs.Values) -> None:
        try:
            check_capacity(values, render_or_refusal(values, render), render)
        except AssertionError:
            failing.append(values)
            raise

    # Without the explain phase, which only re-renders the shrunk example to annotate it.
    @seed(property_runs.SEED)
    @settings(
        property_runs.PROFILE, max_examples=300, phases=[p for p in Phase if p is not Phase.explain]
    )
    @given(values=vs.rollout_values(kinds=("Deployment",), ipool=(True,)))
    def capacity_holds(values: vs.Values) -> None:
        capacity(values)

    with pytest.raises(AssertionError, match="accepted, but the rollout needs") as caught:
        capacity_holds()
    # Hypothesis replays the shrunk example last, and notes it (with the blob) on the error.
    shrunk = failing[-1]
    print(f"seed {property_runs.SEED}: {caught.value}")
    print("\n".join(getattr(caught.value, "__notes__", [])))
    # What the broken guard gets wrong: a percentage surge that rounds up to one more pod.
    assert re.search(r"maxSurge \d+% \(= [1-9]\d* pods\)", str(caught.value)), shrunk
