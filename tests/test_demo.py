"""The README's main job: a summary of both kinds as the chart renders them."""

from __future__ import annotations

from harness import demo


def test_demo_summarises_both_kinds_with_their_services(capsys):
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "Deployment/dummy-flask-app: 3 replicas of" in out
    assert "StatefulSet/dummy-flask-app: 3 replicas of" in out
    assert "serviceName dummy-flask-app-headless" in out
    assert "Service/dummy-flask-app-headless: headless, ports 80->http" in out


def test_demo_shows_the_ipool_annotation_when_enabled(capsys):
    assert demo.main(["--set", "ipool.enabled=true", "--namespace", "edge"]) == 0
    out = capsys.readouterr().out
    assert out.count("quantil.com/ipool=dummy-flask-app-ipool") == 2
    assert "namespace edge" in out


def test_demo_reports_bad_values_and_fails(capsys):
    assert demo.main(["--set", "replicas=3"]) == 1
    assert "'replicas'" in capsys.readouterr().err
