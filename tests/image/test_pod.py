"""The image run with the chart's pod settings: limits, read-only root, no capabilities.

Every container here gets what the chart renders for its default values (see
harness.container.app_container.pod_settings): `--cpus 0.2 --memory 128m --read-only --tmpfs /tmp
--user 10001:10001 --cap-drop ALL --security-opt no-new-privileges` and the gunicorn
environment, on a port published on loopback only.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.container.app_container import Container, MemoryMonitor, PodSettings
from harness.container.load import SteadyLoad, wrk

from .conftest import StartApp

pytestmark = pytest.mark.image

MIB = 1024 * 1024
SUSTAINED_LOAD_S = 15
SUSTAINED_CONNECTIONS = 32


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def process_table(container: Container) -> list[tuple[int, str]]:
    """(real uid, command line) of every process in the container, read from the host."""
    table = []
    for pid in container.host_pids():
        status = Path(f"/proc/{pid}/status").read_text()
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        table.append((uid, cmdline.strip()))
    return table


def test_app_answers_hello_world_and_health_inside_the_chart_limits(start_app: StartApp) -> None:
    container = start_app()
    assert get(f"{container.url}/") == (200, b"Hello World!")
    assert get(f"{container.url}/_health") == (200, b"OK")


def test_every_process_runs_as_the_chart_user_and_none_is_root(
    start_app: StartApp, pod: PodSettings
) -> None:
    uid = int(pod.user.split(":")[0])
    table = process_table(start_app())
    assert table, "the container has no processes"
    assert [row_uid for row_uid, _ in table] == [uid] * len(table), table


def test_gunicorn_runs_the_chart_worker_count_not_one_per_host_core(
    start_app: StartApp, pod: PodSettings
) -> None:
    table = process_table(start_app())
    # The master and its workers; a host-sized default would be 2 x cores + 1 workers.
    assert len(table) == 1 + int(pod.env["WEB_CONCURRENCY"]), table
    assert all("gunicorn --config app/gunicorn.conf.py app.wsgi:application" in c for _, c in table)


def test_no_process_is_the_flask_dev_server_or_its_debugger(start_app: StartApp) -> None:
    container = start_app()
    commands = " ".join(command for _, command in process_table(container))
    assert "flask" not in commands.lower() and "werkzeug" not in commands.lower(), commands
    # Werkzeug's debugger serves its own files on any URL carrying these arguments.
    debugger_asset = f"{container.url}/?__debugger__=yes&cmd=resource&f=debugger.js"
    assert get(debugger_asset) == (200, b"Hello World!")
    assert get(f"{container.url}/missing") == (404, b"404 Not Found")


def test_idle_memory_fits_the_pod_memory_request(start_app: StartApp, pod: PodSettings) -> None:
    container = start_app()
    for path in ("/", "/_health"):
        assert get(f"{container.url}{path}")[0] == 200
    sample = container.memory()
    # RSS added up over the processes counts pages the master and worker share twice: the
    # strictest of the figures (see harness.container.app_container.MemorySample).
    assert sample.rss <= pod.memory_request_bytes, (
        f"idle RSS {sample.rss / MIB:.1f} MiB > request {pod.memory_request_bytes / MIB:.0f} MiB"
        f" (PSS {sample.pss / MIB:.1f} MiB, cgroup working set {sample.cgroup / MIB:.1f} MiB)"
    )


def test_sustained_load_is_served_without_errors_and_without_an_oom_kill(
    start_app: StartApp, pod: PodSettings
) -> None:
    container = start_app()
    with MemoryMonitor(container) as monitor:
        result = wrk(
            f"{container.url}/", seconds=SUSTAINED_LOAD_S, connections=SUSTAINED_CONNECTIONS
        )
    state = container.state
    assert not state["OOMKilled"] and state["Running"], state
    # The kernel's own count too: a killed worker would be respawned by the gunicorn master.
    assert container.oom_kills() == 0
    assert result.requests > 0 and result.errors == 0, result
    assert monitor.peak.samples > 0, "no memory sample was taken during the load"
    assert monitor.peak.rss < pod.memory_bytes, (
        f"peak RSS {monitor.peak.rss / MIB:.1f} MiB reached the {pod.memory_bytes / MIB:.0f} MiB"
        " limit"
    )


def test_sigterm_under_steady_load_ends_the_container_in_the_grace_period_with_no_failed_request(
    start_app: StartApp, pod: PodSettings
) -> None:
    """What a rolling update does to a pod, and what it must not break.

    Kubernetes removes a terminating pod from the Service's endpoints while it sends
    SIGTERM, so no client opens a new connection to the pod after that; clients that
    already hold a keep-alive connection keep sending on it until the server answers with
    "Connection: close". The load does the same: eight persistent connections, each sending
    one request after another, none ever reopened. SIGTERM is sent while they run; the
    load is told to stop right after `docker kill` returns. Every request sent must be
    answered 200 "Hello World!", and the load must have met the shutdown: either the
    server ended connections with "Connection: close" (which gunicorn only does while it
    stops, since the load never lets a connection idle), or requests still in flight when
    the load stopped were answered after it. Which of the two happens depends on whether
    gunicorn closes all eight connections before `docker kill` returns. Requests
    on new connections after SIGTERM are not tried: gunicorn closes its listening socket
    and they would be refused, which in a cluster the endpoint removal prevents.
    The container must then exit by itself, with status 0, before the pod's
    terminationGracePeriodSeconds, after which the kubelet would kill it.
    """
    container = start_app()
    load = SteadyLoad(f"{container.url}/", expected_body=b"Hello World!", connections=8)
    load.start()
    try:
        load.wait_for_answers(200, timeout=30)
        signalled = time.monotonic()
        container.engine.docker("kill", "--signal", "TERM", container.id)
        in_flight = load.stop()
        report = load.join(timeout=pod.termination_grace_s)
    finally:
        load.stop()
    state = container.wait_exited(pod.termination_grace_s - (time.monotonic() - signalled))
    assert state is not None, (
        f"still running {pod.termination_grace_s} s after SIGTERM:\n{container.logs()}"
    )
    assert report.failures == [], report
    assert report.answered == report.sent, report
    answered_in_flight = in_flight > 0 and report.answered_after_stop > 0
    met_shutdown = report.closed_by_server > 0 or answered_in_flight
    assert met_shutdown, f"the load never met the shutdown: {report}"
    assert state["ExitCode"] == 0 and not state["OOMKilled"], (state, container.logs())
