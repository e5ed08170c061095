"""The container harness's pure parts: the chart's pod in docker's terms, the apt mirror, wrk."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chart.render import render
from harness.container.baseimage import BaseImageError, debian_mirror
from harness.container.load import LoadError, SteadyLoad, parse_wrk, wrk
from harness.container.pod import cpu_cores, memory_bytes, pod_settings, run_args
from harness.toolchain import debian

WRK_REPORT = """\
Running 10s test @ http://127.0.0.1:32768/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    49.77ms   37.79ms   1.20s    54.54%
    Req/Sec   326.80    115.65   565.00     62.50%
  Latency Distribution
     50%  850.00us
     75%   85.20ms
     90%   95.60ms
     99%    1.20s
  3261 requests in 10.01s, 440.68KB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:    325.79
Transfer/sec:     54.47KB
"""


@pytest.mark.parametrize(("quantity", "cores"), [("200m", 0.2), ("1", 1.0), ("1.5", 1.5)])
def test_cpu_quantities_become_cores(quantity: str, cores: float) -> None:
    assert cpu_cores(quantity) == pytest.approx(cores)


@pytest.mark.parametrize(
    ("quantity", "size"), [("128Mi", 128 * 1024**2), ("16Mi", 16 * 1024**2), ("64M", 64 * 10**6)]
)
def test_memory_quantities_become_bytes(quantity: str, size: int) -> None:
    assert memory_bytes(quantity) == size


def test_pod_settings_are_the_chart_defaults_in_docker_terms() -> None:
    settings = pod_settings(render())
    assert (settings.cpus, settings.memory_bytes) == (0.2, 128 * 1024**2)
    assert settings.memory_request_bytes == 64 * 1024**2
    assert settings.user == "10001:10001"
    assert settings.read_only and settings.no_new_privileges
    assert settings.drop_capabilities == ("ALL",)
    assert settings.tmpfs == (f"/tmp:size={16 * 1024**2}",)
    assert settings.env == {
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "GUNICORN_GRACEFUL_TIMEOUT": "20",
        "GUNICORN_ACCESS_LOG": "true",
    }
    assert (settings.container_port, settings.termination_grace_s) == (8000, 30)


def test_pod_settings_follow_the_chart_values() -> None:
    settings = pod_settings(render(set={"gunicorn.threads": 8, "resources.limits.cpu": "500m"}))
    assert settings.env["GUNICORN_THREADS"] == "8"
    assert settings.cpus == 0.5


def test_docker_run_publishes_on_loopback_only_with_the_pod_limits() -> None:
    args = run_args(pod_settings(render()), "img:1", name="c")
    joined = " ".join(args)
    assert "--publish 127.0.0.1::8000" in joined
    for flag in (
        "--cpus 0.2",
        f"--memory {128 * 1024**2}b",
        "--user 10001:10001",
        "--read-only",
        "--cap-drop ALL",
        "--security-opt no-new-privileges",
        "--env WEB_CONCURRENCY=1",
    ):
        assert flag in joined
    assert args[-1] == "img:1"


def test_a_replaced_environment_drops_the_chart_one() -> None:
    args = run_args(pod_settings(render()), "img:1", name="c", env={}, command=["gunicorn"])
    assert not any(arg.startswith("WEB_CONCURRENCY=") for arg in args)
    assert args[-2:] == ["img:1", "gunicorn"]


def apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_mirror_comes_from_a_deb822_source_for_the_suite_itself(tmp_path: Path) -> None:
    security = (
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
    )
    main = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
    folder = apt_dir(tmp_path, {"sources.list.d/debian.sources": f"{security}\n{main}"})
    assert debian_mirror("bookworm", folder) == "http://mirror.example/debian"


def test_mirror_comes_from_a_one_line_source(tmp_path: Path) -> None:
    text = (
        "# deb http://old.example/debian bookworm main\n"
        "deb [arch=amd64] http://m.example/d bookworm main\n"
    )
    folder = apt_dir(tmp_path, {"sources.list": text})
    assert debian_mirror("bookworm", folder) == "http://m.example/d"


def test_no_source_for_the_suite_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    folder = apt_dir(tmp_path, {"sources.list": "deb http://m.example/d trixie main\n"})
    with pytest.raises(BaseImageError, match="no apt source for bookworm"):
        debian_mirror("bookworm", folder)


def test_wrk_report_is_read_with_units_and_errors() -> None:
    result = parse_wrk(WRK_REPORT)
    assert (result.requests, result.requests_per_s) == (3261, 325.79)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1200.0)
    assert (result.socket_errors, result.non_2xx, result.errors) == (5, 4, 9)


def test_an_unreadable_wrk_report_is_an_error() -> None:
    with pytest.raises(LoadError, match="no request count"):
        parse_wrk("wrk: connection refused\n")


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000/", "http://example.com/"])
def test_load_is_never_sent_beyond_loopback(url: str) -> None:
    with pytest.raises(LoadError, match="only ever sent to loopback"):
        wrk(url, seconds=1, connections=1)
    with pytest.raises(LoadError, match="only ever sent to loopback"):
        SteadyLoad(url, expected_body=b"")


def test_a_package_dpkg_does_not_know_has_no_installed_version() -> None:
    assert debian.installed_version("no-such-package-dfa") is None


def test_the_tested_debian_packages_are_listed_with_their_versions() -> None:
    lines = debian.version_lines()
    assert [line.split()[0] for line in lines] == list(debian.PACKAGES)
