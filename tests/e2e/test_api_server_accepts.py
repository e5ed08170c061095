"""The real API server accepts what the chart renders from unusual values, not only the
offline schemas: an image tag that is no valid label value, every optional object at once, and
(the oracle) hundreds of generated values sets a run, each rendered set sent as a server-side
dry run; a sample of generated names and shapes is installed and must get Ready pods."""

from __future__ import annotations

import json
import os
import string
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from harness.chart.render import (
    RenderError,
    ci_values_files,
    helm_chart_args,
    render,
    values_json,
)
from harness.core.objects import is_ready, names
from harness.core.proc import run
from harness.core.tools import tool_path
from harness.kube.api import KubeAPI
from harness.kube.client import Kube
from harness.kube.dryrun import Refusal, refusals
from harness.toolchain import crds
from tests.chart.test_kubernetes_schemas import EVERY_OPTION
from tests.e2e.release import ReleaseUnderTest
from tests.support import property_runs
from tests.support import values_strategies as vs

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "tag", ["1." + "2" * 62, "1.5.0-"], ids=["64-characters", "ends-in-a-dash"]
)
def test_the_api_server_accepts_a_release_whose_tag_is_no_valid_label_value(
    release: ReleaseUnderTest, tag: str
):
    """Before chart 0.5.0 the tag went into app.kubernetes.io/version as it was, and the API
    server refused the install. The pods need not run here: no such image exists."""
    args = helm_chart_args(
        "upgrade",
        release=release.name,
        namespace=release.namespace,
        set_string={"image.tag": tag},
        set={"replicaCount": 1},
    )
    release.kube.helm(*args, "--install", "--timeout", "1m")

    workload = release.workload()
    label = tag[:63].rstrip("-_.")
    assert workload["metadata"]["labels"]["app.kubernetes.io/version"] == label
    assert workload["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == label
    assert workload["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":" + tag)


@pytest.mark.node_shares(0)  # server-side dry runs: no pod runs
def test_the_api_server_accepts_every_optional_object_with_strict_field_validation(
    release: ReleaseUnderTest,
):
    """A server-side dry run: the API server validates each object, the HTTPRoute against
    the pinned Gateway API CRD (its CEL rules included), and creates nothing."""
    rendered = run(
        [
            tool_path("helm"),
            *helm_chart_args(
                release=release.name, namespace=release.namespace, values_files=[EVERY_OPTION]
            ),
        ]
    ).stdout
    kube = release.kube
    crd_args = [arg for path in crds.crd_files() for arg in ("--filename", str(path))]
    before = release.contents()
    kube.kubectl("apply", "--server-side", *crd_args)
    try:
        kube.kubectl("wait", "--for=condition=Established", "--timeout=60s", *crd_args)
        applied = kube.kubectl(
            "apply",
            "--dry-run=server",
            "--validate=strict",
            "--namespace",
            release.namespace,
            "--filename",
            "-",
            input=rendered,
        )
    finally:
        kube.kubectl("delete", "--ignore-not-found", "--wait", *crd_args)
    for kind in ("statefulset", "ingress", "httproute", "networkpolicy", "horizontalpodautoscaler"):
        assert f"{kind}." in applied and "(server dry run)" in applied, applied
    assert release.contents() == before


# ---------------------------------------------------------------------------------------
# The API server as the oracle (issue 20): a values set the chart renders must be accepted.

# Rendered values sets sent as a server-side dry run in each run.
ORACLE_SETS = int(os.environ.get("DFA_ORACLE_SETS", "500"))
REGRESSIONS = Path(__file__).parents[1] / "chart" / "values" / "property-regressions.yaml"


@pytest.fixture(scope="module")
def gateway_crds(kube: Kube) -> Iterator[None]:
    """The pinned Gateway API CRDs, for the HTTPRoutes among the generated sets."""
    crd_args = [arg for path in crds.crd_files() for arg in ("--filename", str(path))]
    kube.kubectl("apply", "--server-side", *crd_args)
    try:
        kube.kubectl("wait", "--for=condition=Established", "--timeout=60s", *crd_args)
        yield
    finally:
        kube.kubectl("delete", "--ignore-not-found", "--wait", *crd_args)


class Oracle:
    """Sends each rendered set to the API server; an object sent once is not sent again."""

    def __init__(self, api: KubeAPI, release: ReleaseUnderTest) -> None:
        self.api, self.release = api, release
        self.accepted: set[str] = set()
        self.answers: dict[str, list[Refusal] | None] = {}
        self.sets = self.objects = 0

    def judge(self, values: vs.Values) -> list[Refusal] | None:
        """The API server's refusals of what `values` renders; None when the chart refuses.
        The same values get the same answer (hypothesis replays a failing example)."""
        key = json.dumps(values, sort_keys=True)
        if key not in self.answers:
            self.answers[key] = self._judge(values)
        return self.answers[key]

    def _judge(self, values: vs.Values) -> list[Refusal] | None:
        try:
            manifests = render(
                values=values, release=self.release.name, namespace=self.release.namespace
            )
        except RenderError:
            return None
        new = []
        for obj in manifests:
            key = json.dumps(obj, sort_keys=True)
            if key not in self.accepted:
                new.append((key, obj))
        found = refusals(self.api, [obj for _, obj in new], self.release.namespace)
        refused = {(r.kind, r.name) for r in found}
        self.accepted.update(
            key for key, obj in new if (obj["kind"], obj["metadata"]["name"]) not in refused
        )
        self.sets += 1
        self.objects += len(new)
        return found


@pytest.mark.node_shares(0)  # server-side dry runs: no pod runs
def test_the_api_server_accepts_every_values_set_the_chart_renders(
    kube: Kube, release: ReleaseUnderTest, gateway_crds: None, capsys: pytest.CaptureFixture
):
    """Values drawn from values.schema.json and around the rollout limits, as the property
    tests draw them, until ORACLE_SETS have rendered; then the ci values files and every
    property regression that renders. Each object goes to the API server as a create with
    dryRun=All and strict field validation: nothing is stored, every rule is checked."""
    oracle = Oracle(KubeAPI(kube.kubeconfig), release)
    started = time.perf_counter()

    @seed(f"{property_runs.SEED}-api-server")
    @settings(
        property_runs.PROFILE,
        max_examples=ORACLE_SETS * 3,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(values=st.one_of(vs.schema_values(), vs.rollout_values()))
    def accepted(values: vs.Values) -> None:
        if oracle.sets >= ORACLE_SETS and json.dumps(values, sort_keys=True) not in oracle.answers:
            return
        found = oracle.judge(values)
        assert not found, "the chart rendered what the API server refuses:\n" + "\n".join(
            map(str, found)
        )

    accepted()
    drawn = oracle.sets
    fixed = [{}, *(yaml.safe_load(path.read_text()) for path in ci_values_files())]
    fixed += [case["values"] for case in yaml.safe_load(REGRESSIONS.read_text())]
    for values in fixed:
        found = oracle.judge(values)
        assert not found, f"{values}:\n" + "\n".join(map(str, found))
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\napi server oracle: {oracle.sets} rendered values sets ({drawn} generated, "
            f"{oracle.sets - drawn} fixed; {oracle.objects} distinct objects) sent as server-side "
            f"dry runs to Kubernetes {kube.server_version()} in {seconds:.1f} s; "
            f"repeat with DFA_PROPERTY_SEED={property_runs.SEED}"
        )
    assert drawn >= ORACLE_SETS, f"only {drawn} of the generated sets rendered"


# Generated names and rollout shapes really installed: what the API server accepts but the
# controllers then cannot run (a StatefulSet's name of 53 to 63 characters) shows only here.
INSTALLED_SAMPLE = 4
RUNNABLE_KEYS = (
    "nameOverride",
    "fullnameOverride",
    "commonLabels",
    "podLabels",
    "podAnnotations",
    "strategy",
    "updateStrategy",
    "podManagementPolicy",
    "podDisruptionBudget",
    "service",
    "ipool",
)


@st.composite
def runnable_values(draw: st.DrawFn) -> tuple[str, vs.Values]:
    """A release name of 1 to 53 letters (helm's limit) and values that can run on the real
    node: the chart's image, one or two pods, and the names, labels and rollout shapes drawn
    as the schema allows them."""
    length = draw(st.integers(1, 53))
    release = draw(st.text(string.ascii_lowercase, min_size=length, max_size=length))
    shapes = draw(st.one_of(vs.rollout_values(ipool=(False,)), vs.schema_values()))
    values = {key: shapes[key] for key in RUNNABLE_KEYS if key in shapes}
    values["workload"] = shapes["workload"]
    values["replicaCount"] = draw(st.integers(1, 2))
    values["ipool"] = {**values.get("ipool", {}), "enabled": False}
    return release, values


def test_a_sample_of_generated_values_runs_ready_pods_or_is_refused_by_name(
    kube: Kube, namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture
):
    """Each drawn set the chart renders is installed with --wait and must get all its pods
    Ready; a set it refuses must say so by its own message or the schema's."""
    installed: list[str] = []

    @seed(f"{property_runs.SEED}-installed")
    @settings(property_runs.PROFILE, max_examples=INSTALLED_SAMPLE, phases=[Phase.generate])
    @given(drawn=runnable_values())
    def runs(drawn: tuple[str, vs.Values]) -> None:
        name, values = drawn
        try:
            render(values=values, release=name, namespace=namespace)
        except RenderError as error:
            assert "execution error" in error.stderr or "schema" in error.stderr, error
            return
        # JSON, not YAML: helm reads YAML 1.1, where a generated string such as `Y` or `on`
        # written bare by PyYAML would come back as a boolean.
        values_file = tmp_path / f"{name}.json"
        values_file.write_text(values_json(values), encoding="utf-8")
        args = helm_chart_args(
            "upgrade", release=name, namespace=namespace, values_files=[values_file]
        )
        kube.helm(*args, "--install", "--wait", "--timeout", "3m")
        pods = kube.objects("pods", namespace, f"app.kubernetes.io/instance={name}")
        assert sum(map(is_ready, pods)) == values["replicaCount"], (name, values, names(pods))
        installed.append(f"{values['workload']['kind']} of release {name}")
        kube.helm("uninstall", name, "--namespace", namespace, "--wait")

    runs()
    with capsys.disabled():
        print(f"\ninstalled, all pods Ready: {'; '.join(installed)}")
    assert installed, "no drawn set rendered"
