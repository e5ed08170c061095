"""The persistent renderer gives what `helm template` gives: the same documents in the same
order, the same error text, the same merging of values, on both Helms."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from harness.chart import render as rendering
from harness.chart.render import CHART_DIR, RENDERER_ENV, RenderError, ci_values_files
from harness.core.proc import CommandError, run
from harness.core.tools import ROOT, ToolError
from harness.toolchain import renderer as installer
from tests.chart.test_bad_values import BAD_VALUES

EVERY_OPTION = ROOT / "tests" / "chart" / "values" / "every-option.yaml"
VARIANTS = {"defaults": None, **{p.name: p for p in [*ci_values_files(), EVERY_OPTION]}}


def with_helm(monkeypatch, helm, **kwargs) -> rendering.Manifests:
    monkeypatch.setenv(RENDERER_ENV, "helm")
    return rendering.render(helm=helm, **kwargs)


def with_renderer(monkeypatch, helm, **kwargs) -> rendering.Manifests:
    monkeypatch.setenv(RENDERER_ENV, "renderer")
    return rendering.render(helm=helm, **kwargs)


def refusal(render, monkeypatch, helm, **kwargs) -> str:
    with pytest.raises(RenderError) as refused:
        render(monkeypatch, helm, **kwargs)
    return refused.value.stderr


def same_documents(a: rendering.Manifests, b: rendering.Manifests) -> bool:
    """Equal, and equal as JSON too: same key order, and a float never stands for an int."""
    return list(a) == list(b) and json.dumps(list(a)) == json.dumps(list(b))


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_the_renderer_prints_what_helm_template_prints(monkeypatch, helm, variant):
    files = [VARIANTS[variant]] if VARIANTS[variant] else []
    old = with_helm(monkeypatch, helm, values_files=files)
    new = with_renderer(monkeypatch, helm, values_files=files)
    assert len(new) > 0
    assert same_documents(old, new)


@pytest.mark.parametrize(
    "values", [case[1] for case in BAD_VALUES], ids=[case[0] for case in BAD_VALUES]
)
def test_the_renderer_refuses_bad_values_with_helms_own_text(monkeypatch, helm, values):
    expected = refusal(with_helm, monkeypatch, helm, values=values)
    assert refusal(with_renderer, monkeypatch, helm, values=values) == expected


# Refusals that come from the command line rather than the values' content.
REFUSED_RENDERS = {
    "unknown key by --set": {"set": {"replicas": 3}},
    "unknown kind by --set": {"set": {"workload.kind": "Job"}},
    "--set that does not parse": {"set": {"a[x]": 1}},
    "a table where the chart has a number (helm warns first)": {"set": {"replicaCount.a": 1}},
    "missing values file": {"values_files": ["/nonexistent/values.yaml"]},
    "Kubernetes older than the chart's kubeVersion": {"kube_version": "1.29"},
    "Kubernetes version that does not parse": {"kube_version": "one.two"},
    "release name helm refuses": {"release": "Bad_Name", "values": {"replicas": 3}},
    "release name too long": {"release": "r" * 54},
}


@pytest.mark.parametrize("render_args", REFUSED_RENDERS.values(), ids=list(REFUSED_RENDERS))
def test_the_renderer_refuses_command_lines_with_helms_own_text(monkeypatch, helm, render_args):
    expected = refusal(with_helm, monkeypatch, helm, **render_args)
    assert refusal(with_renderer, monkeypatch, helm, **render_args) == expected


def test_the_chart_message_of_a_refusal_is_read_the_same(monkeypatch, helm):
    values = {"ingress": {"enabled": True}}
    with pytest.raises(RenderError) as refused:
        with_renderer(monkeypatch, helm, values=values)
    assert refused.value.chart_message == (
        "ingress.hosts: list at least one host when ingress.enabled is true."
    )


def test_set_beats_inline_values_which_beat_values_files(monkeypatch, helm, tmp_path):
    values_file = tmp_path / "prod.yaml"
    values_file.write_text('replicaCount: 2\nimage:\n  tag: "1.0.0"\ngunicorn:\n  workers: 3\n')
    render_args = {
        "values_files": [values_file],
        "values": {"replicaCount": 3, "image": {"tag": "1.1.0"}},
        "set": {"replicaCount": 4, "image.tag": "1.2.0"},
        "set_string": {"image.tag": "1.3.0", "podLabels.tier": "007"},
    }
    new = with_renderer(monkeypatch, helm, **render_args)
    assert same_documents(with_helm(monkeypatch, helm, **render_args), new)
    assert new.workload["spec"]["replicas"] == 4
    assert new.app_container["image"].endswith(":1.3.0")
    assert new.pod_template["metadata"]["labels"]["tier"] == "007"


def test_set_parses_lists_and_types_as_helms_command_line_does(monkeypatch, helm):
    render_args = {
        "set": {"imagePullSecrets[0].name": "pull", "podAnnotations.note": "a\\,b"},
        "set_string": {"podAnnotations.count": "12"},
    }
    new = with_renderer(monkeypatch, helm, **render_args)
    assert same_documents(with_helm(monkeypatch, helm, **render_args), new)
    assert new.pod_template["metadata"]["annotations"]["note"] == "a,b"


# Strings Helm's YAML 1.1 would read as a boolean or a number if they were written unquoted,
# and a character JSON escapes as two halves, which Helm's YAML refuses.
TRICKY_STRINGS = {"note": "y", "size": "1e3", "mode": "0o17", "face": "\U0001f600"}


def test_inline_values_reach_helm_as_given_on_both_paths(monkeypatch, helm):
    render_args = {"values": {"podAnnotations": TRICKY_STRINGS}}
    new = with_renderer(monkeypatch, helm, **render_args)
    assert same_documents(with_helm(monkeypatch, helm, **render_args), new)
    annotations = new.pod_template["metadata"]["annotations"]
    assert {key: annotations[key] for key in TRICKY_STRINGS} == TRICKY_STRINGS


def test_relative_values_files_are_read_from_the_working_directory(monkeypatch, helm):
    monkeypatch.chdir(CHART_DIR)
    render_args = {"values_files": ["ci/statefulset-values.yaml"]}
    new = with_renderer(monkeypatch, helm, **render_args)
    assert same_documents(with_helm(monkeypatch, helm, **render_args), new)
    assert new.workload["kind"] == "StatefulSet"


def test_an_edited_copy_of_the_chart_renders_as_edited_beside_the_projects_chart(
    monkeypatch, helm, tmp_path
):
    copy = shutil.copytree(CHART_DIR, tmp_path / "chart")
    (copy / "templates" / "extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-in-the-copy\n"
    )

    edited = with_renderer(monkeypatch, helm, chart=copy)

    assert same_documents(with_helm(monkeypatch, helm, chart=copy), edited)
    assert "only-in-the-copy" in [doc["metadata"]["name"] for doc in edited]
    project = with_renderer(monkeypatch, helm)
    assert "only-in-the-copy" not in [doc["metadata"]["name"] for doc in project]


def test_a_renderer_that_died_is_restarted_on_the_next_render(monkeypatch, helm):
    with_renderer(monkeypatch, helm, set={"replicaCount": 11})
    renderer = rendering.persistent_renderer(helm)
    assert renderer is not None
    killed = renderer.pid
    assert killed is not None
    os.kill(killed, signal.SIGKILL)

    manifests = with_renderer(monkeypatch, helm, set={"replicaCount": 12})

    assert manifests.workload["spec"]["replicas"] == 12
    assert renderer.pid not in (None, killed)


def test_a_renderer_that_dies_on_a_render_fails_it_with_its_stderr(tmp_path):
    crashing = tmp_path / "dfa-render-crash"
    crashing.write_text("#!/bin/sh\necho 'panic: no chart today' >&2\nexit 2\n")
    crashing.chmod(0o755)
    renderer = rendering.PersistentRenderer(crashing)
    try:
        with pytest.raises(CommandError, match="ended twice") as failed:
            renderer.render(None, None, None, (), None, "r", "ns")
    finally:
        renderer.close()
    assert not isinstance(failed.value, RenderError), "a crash is not a refusal"
    assert failed.value.stderr == "panic: no chart today\n"
    assert failed.value.returncode == 2


def test_forcing_the_renderer_without_one_installed_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv(RENDERER_ENV, "renderer")
    with pytest.raises(ToolError, match="make setup"):
        rendering.render(helm=tmp_path / "helm")


def test_an_unknown_renderer_choice_is_refused(monkeypatch, helm):
    monkeypatch.setenv(RENDERER_ENV, "fast")
    with pytest.raises(ToolError, match="auto, helm, renderer"):
        rendering.render(helm=helm)


def linked_modules(binary: Path) -> dict[str, str]:
    """Module -> version of every module linked into a Go binary."""
    info = run([shutil.which("go") or "go", "version", "-m", binary]).stdout
    return dict(re.findall(r"^\s+dep\s+(\S+)\s+(\S+)", info, re.MULTILINE))


@pytest.mark.parametrize("built", installer.RENDERERS, ids=lambda r: r.flavour)
def test_the_renderer_links_the_modules_of_the_pinned_helm_at_its_versions(built):
    helm, renderer = linked_modules(built.helm.link.resolve()), linked_modules(built.link)
    shared = helm.keys() & renderer.keys()
    assert built.helm.module in renderer
    assert {m: renderer[m] for m in shared} == {m: helm[m] for m in shared}
    assert renderer[built.helm.module] == built.helm.version


@pytest.mark.parametrize("built", installer.RENDERERS, ids=lambda r: r.flavour)
def test_the_installed_renderer_is_built_from_the_current_sources(built):
    assert built.link.resolve() == built.binary.resolve()
    assert built.required_helm() == built.helm.version
    assert built.reported_version(built.link) == built.helm.version
