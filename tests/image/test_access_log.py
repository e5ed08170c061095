"""The access log in the image: every request leaves its line, in order, on every way out.

app/accesslog.py writes lines in batches, each at most half a second late. These tests run
the image as the chart's pod does and read what the engine collected from its stdout, the
way the kubelet's log reader would.
"""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from app.accesslog import MAX_DELAY_S
from harness.container.app_container import Container, PodSettings

from .conftest import StartApp

pytestmark = pytest.mark.image

REQUESTS = 60
# How long after its request a line may take to reach `docker logs`: the batch's delay, plus
# generous room for the engine's own reading, the chart's 0.2 CPU and a busy test machine.
LATE_S = MAX_DELAY_S + 4.5
_NUMBERED = re.compile(r'"GET /\?n=(\d+) HTTP/1\.1" 200 ')


def request(container: Container, number: int) -> None:
    with urllib.request.urlopen(f"{container.url}/?n={number}", timeout=10) as response:
        assert response.status == 200


def numbers_logged(container: Container) -> list[int]:
    """The numbers of the numbered requests on the container's stdout, in the order written."""
    stdout = container.engine.docker("logs", container.id, check=False).stdout
    return [int(n) for n in _NUMBERED.findall(stdout)]


@pytest.mark.parametrize(
    "signal",
    ["TERM", "INT", "QUIT"],
    ids=["SIGTERM (graceful)", "SIGINT (fast)", "SIGQUIT (fast)"],
)
def test_every_request_answered_before_a_stop_signal_is_logged_in_order(
    start_app: StartApp, pod: PodSettings, signal: str
) -> None:
    container = start_app()
    for number in range(REQUESTS):
        request(container, number)
    # At once: the last lines are still in the worker's batch, not yet due.
    container.engine.docker("kill", "--signal", signal, container.id)
    state = container.wait_exited(pod.termination_grace_s)
    assert state is not None, f"still running after SIG{signal}:\n{container.logs()}"
    assert numbers_logged(container) == list(range(REQUESTS)), container.logs()


def test_a_line_reaches_the_log_with_no_request_and_no_exit_after_it(
    start_app: StartApp,
) -> None:
    container = start_app()
    request(container, 7)
    answered = time.monotonic()
    while numbers_logged(container) != [7]:
        assert time.monotonic() - answered < LATE_S, (
            f"the line was not in the log {LATE_S} s after its request:\n{container.logs()}"
        )
        time.sleep(0.1)
