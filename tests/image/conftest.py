"""Fixtures of the image tests: the project's own Docker Engine, the built image, the chart's pod.

The engine is started once per session (or reused when `python -m harness.container up`
left one running) and stopped at the end if the session started it, checking that none of
its processes is left. Every test that runs a container removes it afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from harness.container.baseimage import ensure_base_image
from harness.container.engine import Engine
from harness.container.pod import (
    Container,
    PodSettings,
    build_app_image,
    chart_pod_settings,
    run_args,
    start_container,
)

StartApp = Callable[..., Container]


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
