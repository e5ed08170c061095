"""The chart's gunicorn values and the app's own defaults describe the same server."""

from __future__ import annotations

import runpy

import pytest
import yaml

from app.settings import VARIABLES
from harness.chart.render import CHART_DIR
from harness.core.tools import ROOT

GUNICORN_SETTINGS = {
    "workers": "workers",
    "workerClass": "worker_class",
    "threads": "threads",
    "keepAlive": "keepalive",
    "gracefulTimeout": "graceful_timeout",
}


def gunicorn_defaults(monkeypatch) -> dict:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(ROOT / "app" / "gunicorn.conf.py"))


@pytest.mark.parametrize(("value", "setting"), GUNICORN_SETTINGS.items())
def test_chart_default_equals_the_app_default(monkeypatch, value, setting):
    chart_values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert chart_values["gunicorn"][value] == gunicorn_defaults(monkeypatch)[setting]


def test_chart_listens_where_gunicorn_binds(render, monkeypatch):
    port = int(gunicorn_defaults(monkeypatch)["bind"].rsplit(":", 1)[1])
    ports = render().app_container["ports"]
    assert [p["containerPort"] for p in ports if p["name"] == "http"] == [port]
