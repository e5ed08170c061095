"""gunicorn.conf.py: defaults sized for the pod, env overrides validated, and the real server.

The config is executed the way gunicorn does it (as a file, not an importable module), and the
last tests start the real gunicorn from this venv on a loopback port.
"""

import http.client
import inspect
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config

from app.settings import (
    VARIABLES,
    ServerSettings,
    SettingError,
    bool_from_env,
    choice_from_env,
    non_negative_int_from_env,
    positive_int_from_env,
    server_settings,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "app" / "gunicorn.conf.py"
GUNICORN = Path(sys.executable).parent / "gunicorn"
WHOLE_NUMBERS = ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_GRACEFUL_TIMEOUT")
POD_TERMINATION_GRACE_S = 30
STARTUP_TIMEOUT_S = 20.0
POLL_INTERVAL_S = 0.1


@pytest.fixture(autouse=True)
def no_tunables_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def load_config() -> dict[str, Any]:
    """The settings gunicorn would read: the file's public, non-callable globals."""
    namespace = runpy.run_path(str(CONFIG))
    return {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_") and not inspect.ismodule(value) and not callable(value)
    }


def test_defaults_fit_a_pod_of_200m_cpu_and_128mi() -> None:
    config = load_config()
    assert config["bind"] == "0.0.0.0:8000"
    assert (config["worker_class"], config["workers"], config["threads"]) == ("gthread", 1, 1)
    assert (config["timeout"], config["keepalive"]) == (30, 5)
    assert config["worker_tmp_dir"] == "/tmp"
    assert (config["accesslog"], config["errorlog"]) == ("-", "-")
    assert config["logger_class"] == "app.accesslog.AccessLogger"
    assert config["control_socket_disable"] is True


def test_default_graceful_timeout_ends_before_the_pod_is_killed() -> None:
    assert load_config()["graceful_timeout"] < POD_TERMINATION_GRACE_S


def test_every_setting_is_one_gunicorn_knows() -> None:
    # gunicorn silently ignores unknown names, so a typo would otherwise go unnoticed.
    assert set(load_config()) <= set(Config().settings)


def test_environment_overrides_workers_threads_and_graceful_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", "10")
    config = load_config()
    assert (config["workers"], config["threads"], config["graceful_timeout"]) == (2, 8, 10)


@pytest.mark.parametrize("name", WHOLE_NUMBERS)
@pytest.mark.parametrize("value", ["abc", "0", "-1", "", " 2", "1.5"])
def test_a_bad_value_stops_startup_with_a_message_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=f"{name} must be a whole number of 1 or more"):
        load_config()


@pytest.mark.parametrize(("value", "accesslog"), [("true", "-"), ("false", None)])
def test_gunicorn_access_log_turns_the_access_log_on_or_off(
    monkeypatch: pytest.MonkeyPatch, value: str, accesslog: str | None
) -> None:
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", value)
    config = load_config()
    assert (config["accesslog"], config["errorlog"]) == (accesslog, "-")


@pytest.mark.parametrize("value", ["True", "FALSE", "1", "0", "yes", "on", "", " true"])
def test_an_access_log_value_other_than_true_or_false_stops_startup(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", value)
    with pytest.raises(SystemExit, match="GUNICORN_ACCESS_LOG must be true or false, got"):
        load_config()


def test_the_sync_worker_class_takes_one_thread_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "sync")
    config = load_config()
    assert (config["worker_class"], config["threads"]) == ("sync", 1)


@pytest.mark.parametrize("threads", ["1", "4"])
def test_without_a_worker_class_the_worker_is_gthread_whatever_the_threads(
    monkeypatch: pytest.MonkeyPatch, threads: str
) -> None:
    # gunicorn itself would pick sync for one thread; the image keeps gthread's keep-alive.
    monkeypatch.setenv("GUNICORN_THREADS", threads)
    assert load_config()["worker_class"] == "gthread"


def test_the_sync_worker_class_with_threads_stops_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    # gunicorn would quietly run gthread workers: the chart's value would not be what runs.
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "sync")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    with pytest.raises(SystemExit, match="GUNICORN_THREADS must be 1 with GUNICORN_WORKER_CLASS"):
        load_config()


@pytest.mark.parametrize("value", ["Sync", "GTHREAD", "gevent", "", " sync", "sync "])
def test_a_worker_class_other_than_sync_or_gthread_stops_startup(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", value)
    with pytest.raises(SystemExit, match="GUNICORN_WORKER_CLASS must be one of sync, gthread, got"):
        load_config()


@pytest.mark.parametrize(("value", "keepalive"), [("0", 0), ("1", 1), ("75", 75)])
def test_gunicorn_keepalive_sets_the_keep_alive_seconds_and_0_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, value: str, keepalive: int
) -> None:
    monkeypatch.setenv("GUNICORN_KEEPALIVE", value)
    assert load_config()["keepalive"] == keepalive


@pytest.mark.parametrize("value", ["abc", "-1", "", " 2", "1.5", "+3"])
def test_a_bad_keepalive_stops_startup(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("GUNICORN_KEEPALIVE", value)
    with pytest.raises(SystemExit, match="GUNICORN_KEEPALIVE must be a whole number of 0 or more"):
        load_config()


def test_server_settings_read_the_variables_it_lists_and_no_other() -> None:
    read: list[str] = []

    class Recording(dict[str, str]):
        def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
            read.append(name)
            return super().get(name, default)

    server_settings(Recording())
    assert sorted(set(read)) == sorted(VARIABLES)


def test_server_settings_are_the_images_defaults_for_an_empty_environment() -> None:
    assert server_settings({}) == ServerSettings(
        worker_class="gthread",
        workers=1,
        threads=1,
        keepalive_s=5,
        graceful_timeout_s=20,
        access_log=True,
    )


def test_server_settings_are_what_the_config_file_hands_gunicorn() -> None:
    environ = {
        "GUNICORN_WORKER_CLASS": "sync",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_KEEPALIVE": "0",
        "GUNICORN_ACCESS_LOG": "false",
    }
    settings = server_settings(environ)
    assert settings == ServerSettings("sync", 2, 1, 0, 20, False)


def test_non_negative_int_from_env_reads_0_and_returns_the_default_when_unset() -> None:
    assert non_negative_int_from_env("GUNICORN_KEEPALIVE", 5, {}) == 5
    assert non_negative_int_from_env("GUNICORN_KEEPALIVE", 5, {"GUNICORN_KEEPALIVE": "0"}) == 0


def test_choice_from_env_quotes_the_bad_value() -> None:
    with pytest.raises(SettingError, match="must be one of a, b, got 'c'"):
        choice_from_env("X", "a", ("a", "b"), {"X": "c"})


@pytest.mark.parametrize("default", [True, False])
def test_bool_from_env_returns_the_default_when_unset(default: bool) -> None:
    assert bool_from_env("GUNICORN_ACCESS_LOG", default, {}) is default


def test_bool_from_env_quotes_the_bad_value() -> None:
    with pytest.raises(SettingError, match="got 'yes'"):
        bool_from_env("GUNICORN_ACCESS_LOG", True, {"GUNICORN_ACCESS_LOG": "yes"})


def test_positive_int_from_env_returns_the_default_when_unset() -> None:
    assert positive_int_from_env("WEB_CONCURRENCY", 3, {}) == 3


def test_positive_int_from_env_reads_a_whole_number() -> None:
    assert positive_int_from_env("WEB_CONCURRENCY", 1, {"WEB_CONCURRENCY": "12"}) == 12


def test_positive_int_from_env_quotes_the_bad_value() -> None:
    with pytest.raises(SettingError, match="got '0'"):
        positive_int_from_env("WEB_CONCURRENCY", 1, {"WEB_CONCURRENCY": "0"})


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(tmp_path: Path, extra_env: dict[str, str]) -> Server:
    if not GUNICORN.exists():
        pytest.fail(f"{GUNICORN} is missing; install app/requirements.txt into this venv.")
    port = free_loopback_port()
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES and k != "GUNICORN_CMD_ARGS"}
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "--config",
                "app/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "app.wsgi:application",
            ],
            cwd=ROOT,
            env=env | extra_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(process, f"http://127.0.0.1:{port}", log)


def wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.url}/_health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        try:
            # Waiting on the process doubles as the pause between polls.
            code = server.process.wait(timeout=POLL_INTERVAL_S)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"gunicorn exited with {code} before it was healthy:\n{server.output()}")
    pytest.fail(
        f"gunicorn did not answer 200 on {server.url}/_health within {STARTUP_TIMEOUT_S}s:\n"
        f"{server.output()}"
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = start_gunicorn(tmp_path, {})
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def test_real_gunicorn_serves_the_app_and_stops_cleanly_on_sigterm(server: Server) -> None:
    wait_until_healthy(server)
    with urllib.request.urlopen(f"{server.url}/", timeout=5) as response:
        assert response.read() == b"Hello World!"

    server.process.send_signal(signal.SIGTERM)
    graceful_timeout = load_config()["graceful_timeout"]
    try:
        code = server.process.wait(timeout=graceful_timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"gunicorn was still running {graceful_timeout}s after SIGTERM:\n{server.output()}"
        )
    assert code == 0, server.output()
    assert '"GET / HTTP/1.1" 200' in server.output(), "the access log should go to stdout"


def test_real_gunicorn_writes_no_access_log_when_it_is_turned_off(tmp_path: Path) -> None:
    server = start_gunicorn(tmp_path, {"GUNICORN_ACCESS_LOG": "false"})
    try:
        wait_until_healthy(server)
        with urllib.request.urlopen(f"{server.url}/", timeout=5) as response:
            assert response.read() == b"Hello World!"
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=load_config()["graceful_timeout"])
    assert "Booting worker" in server.output(), "the error log should still go to stdout"
    assert '"GET ' not in server.output()


@pytest.mark.parametrize(
    ("extra_env", "closes"),
    [
        ({}, False),
        ({"GUNICORN_KEEPALIVE": "0"}, True),
        ({"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_THREADS": "1"}, True),
    ],
    ids=["gthread keep-alive 5 s", "gthread keep-alive 0", "sync"],
)
def test_real_gunicorn_keeps_a_connection_alive_only_with_gthread_and_a_keepalive(
    tmp_path: Path, extra_env: dict[str, str], closes: bool
) -> None:
    """The trade-off the benchmark weighs: a connection closed after every response costs a
    connect per request, but a kept-alive one must be closed by a stopping gunicorn."""
    server = start_gunicorn(tmp_path, extra_env)
    try:
        wait_until_healthy(server)
        connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            assert response.read() == b"Hello World!"
            assert response.will_close is closes, response.getheaders()
        finally:
            connection.close()
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=load_config()["graceful_timeout"])
    worker = "sync" if "GUNICORN_WORKER_CLASS" in extra_env else "gthread"
    assert f"Using worker: {worker}" in server.output()


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("GUNICORN_THREADS", "abc", "a whole number of 1 or more"),
        ("WEB_CONCURRENCY", "0", "a whole number of 1 or more"),
        ("GUNICORN_ACCESS_LOG", "yes", "true or false"),
        ("GUNICORN_WORKER_CLASS", "gevent", "one of sync, gthread"),
        ("GUNICORN_KEEPALIVE", "-1", "a whole number of 0 or more"),
    ],
)
def test_real_gunicorn_refuses_to_start_with_a_bad_value(
    tmp_path: Path, name: str, value: str, allowed: str
) -> None:
    server = start_gunicorn(tmp_path, {name: value})
    try:
        code = server.process.wait(timeout=STARTUP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        pytest.fail(f"gunicorn was still running {STARTUP_TIMEOUT_S}s after starting with {name}")
    assert code != 0
    # One line, the sentence alone: no traceback around it.
    assert server.output().strip() == (
        f"Invalid gunicorn setting: {name} must be {allowed}, got '{value}'."
    )


def test_gunicorns_master_reads_its_config_without_importing_flask():
    """The master binds the port right after reading its config; Flask is the workers' to
    import (a faster start, and a smaller master)."""
    probe = (
        "import runpy, sys\n"
        "runpy.run_path('app/gunicorn.conf.py')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_connection_that_sends_nothing_does_not_hold_up_the_next_client(
    tmp_path: Path,
) -> None:
    """One thread serves every request, so a connection that sends nothing (a browser's
    preconnect, a port scan) must not keep it: gunicorn's gthread would wait 5 s for its first
    bytes before handing it to the poller, and every other client would wait behind it."""
    server = start_gunicorn(tmp_path, {})
    try:
        wait_until_healthy(server)
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)):
            time.sleep(0.1)  # accepted, and handed to the thread
            started = time.monotonic()
            with urllib.request.urlopen(f"{server.url}/", timeout=10) as response:
                assert response.read() == b"Hello World!"
            waited = time.monotonic() - started
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=load_config()["graceful_timeout"])
    assert waited < 2.0, f"the next client waited {waited:.1f} s behind an idle connection"
