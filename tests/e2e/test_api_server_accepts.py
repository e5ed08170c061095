"""The real API server accepts what the chart renders from unusual values, not only the
offline schemas: an image tag that is no valid label value, and every optional object at once."""

from __future__ import annotations

import pytest

from harness.chart.render import helm_chart_args
from harness.core.proc import run
from harness.core.tools import tool_path
from harness.toolchain import crds
from tests.chart.test_kubernetes_schemas import EVERY_OPTION
from tests.e2e.release import ReleaseUnderTest

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
