"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from harness.chart import render as rendering
from harness.core.tools import tool_path

# The chart must behave the same on the pinned Helm 4 and on the last Helm 3 release.
HELMS = {"helm4": "helm", "helm3": "helm3"}


@pytest.fixture(scope="session", params=list(HELMS), ids=list(HELMS))
def helm(request: pytest.FixtureRequest) -> Path:
    """Each pinned helm binary in turn."""
    return tool_path(HELMS[request.param])


@pytest.fixture(scope="session")
def render(helm: Path) -> Callable[..., rendering.Manifests]:
    """`harness.chart.render.render`, bound to the helm under test."""
    return partial(rendering.render, helm=helm)


@pytest.fixture(scope="session")
def render_error(helm: Path) -> Callable[..., str]:
    """Renders values that must be refused; returns helm's stderr."""

    def refuse(*args: object, **kwargs: object) -> str:
        with pytest.raises(rendering.RenderError) as refused:
            rendering.render(*args, helm=helm, **kwargs)  # type: ignore[arg-type]
        return refused.value.stderr

    return refuse
