"""The README's main job, its part that needs no cluster: the summary of both kinds.

The real thing (install 1.0.0, upgrade to 1.5.0 on a cluster) is tests/e2e/test_demo.py.
"""

from __future__ import annotations

import pytest

from harness.cluster.local import LocalCluster
from harness.cluster.target import target_cluster
from harness.demo import run as demo


def test_demo_summarises_both_kinds_with_their_services(capsys):
    assert demo.main(["--render-only"]) == 0
    out = capsys.readouterr().out
    assert "Deployment/dummy-flask-app: 3 replicas of" in out
    assert "StatefulSet/dummy-flask-app: 3 replicas of" in out
    assert "serviceName dummy-flask-app-headless" in out
    assert "Service/dummy-flask-app-headless: headless, ports 80->http" in out


def test_demo_shows_the_ipool_annotation_when_enabled(capsys):
    argv = ["--render-only", "--set", "ipool.enabled=true", "--namespace-prefix", "edge"]
    assert demo.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("quantil.com/ipool=dummy-flask-app-ipool") == 2
    assert "namespace edge-deployment" in out
    assert "namespace edge-statefulset" in out


def test_demo_reports_bad_values_and_fails(capsys):
    assert demo.main(["--render-only", "--set", "replicas=3"]) == 1
    assert "'replicas'" in capsys.readouterr().err


def test_a_kubeconfig_in_the_environment_does_not_redirect_the_demo(monkeypatch, tmp_path):
    started = []
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "shared-cluster"))
    monkeypatch.setattr(LocalCluster, "up", lambda self: started.append(self.name))

    kube = target_cluster(None).kube

    assert started == [LocalCluster().name]
    assert kube.kubeconfig == LocalCluster().kubeconfig


def test_demo_with_the_kubeconfig_option_leaves_the_local_cluster_alone(monkeypatch, tmp_path):
    monkeypatch.setattr(LocalCluster, "up", lambda self: _refuse_to_start())

    assert target_cluster(tmp_path / "config").kube.kubeconfig == tmp_path / "config"


def test_demo_refuses_a_kubeconfig_option_naming_no_file(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(LocalCluster, "up", lambda self: _refuse_to_start())

    with pytest.raises(SystemExit) as refused:
        demo.main(["--kubeconfig", str(tmp_path / "missing")])

    assert refused.value.code == 2
    assert f"argument --kubeconfig: {tmp_path / 'missing'}: no such file" in capsys.readouterr().err


def _refuse_to_start():
    raise AssertionError("the local cluster must not be started when --kubeconfig is given")


def test_a_set_without_a_value_is_one_error_line(capsys):
    assert demo.main(["--render-only", "--set", "image.tag"]) == 1
    assert capsys.readouterr().err.strip() == "error: --set takes KEY=VALUE, got 'image.tag'"
