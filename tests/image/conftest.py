"""Fixtures of the image tests: the chart's pod settings and the app started with them.

The engine and the image come from tests/conftest.py. The engine is started once per
session (or reused when `python -m harness.container up` left one running) and stopped at
the end if the session started it, checking that none of its processes is left. Every test
that runs a container removes it afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from harness.container.app_container import (
    Container,
    PodSettings,
    chart_pod_settings,
    run_args,
    start_container,
)
from harness.container.engine import Engine

StartApp = Callable[..., Container]


@pytest.fixture(scope="session")
def pod() -> PodSettings:
    """The chart's default pod settings, from its rendered manifests."""
    return chart_pod_settings()


@pytest.fixture
def start_app(
    engine: Engine, app_image: str, pod: PodSettings, request: pytest.FixtureRequest
) -> Iterator[StartApp]:
    """Starts the app image as the chart's pod runs it and waits until it is healthy."""
    started: list[Container] = []

    def start(
        *,
        env: Mapping[str, str] | None = None,
        volumes: Sequence[str] = (),
        command: Sequence[str] = (),
    ) -> Container:
        name = re.sub(r"[^a-zA-Z0-9_.-]", "-", f"dfa-test-{request.node.name[:40]}-{len(started)}")
        args = run_args(pod, app_image, name=name, env=env, volumes=volumes, command=command)
        container = start_container(engine, args, name)
        started.append(container)
        container.wait_healthy()
        return container

    yield start
    for container in started:
        container.remove()
