"""Fixtures shared by the whole suite: the Helms, the render API, the project's own Docker
Engine and the app image built on it (the image tests run it, the node tests push it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from harness.chart import render as rendering
from harness.container.baseimage import ensure_base_image
from harness.container.engine import Engine
from harness.container.pod import build_app_image
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


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    engine = Engine()
    started = engine.start()
    yield engine
    if started:
        engine.stop()
        leftovers = engine.leftover_processes()
        assert not leftovers, f"the engine left processes behind: {leftovers}"


@pytest.fixture(scope="session")
def base_image(engine: Engine) -> str:
    return ensure_base_image(engine, log=False)


@pytest.fixture(scope="session")
def app_image(engine: Engine, base_image: str) -> str:
    """The repo's Dockerfile, built now: a stale image from an earlier run proves nothing."""
    return build_app_image(engine, base_image=base_image)
