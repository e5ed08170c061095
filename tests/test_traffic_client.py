"""The Service load client counts every request, and sends load nowhere it must not.

A small HTTP server on loopback stands in for the app here: it answers, refuses, or closes
keep-alive connections the way a stopping gunicorn does, and the client must say so.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from harness.traffic.client import Traffic, TrafficError, TrafficReport, check_target


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    status = 200
    close_every = 0  # answer every n-th request with "Connection: close"
    served = 0

    def do_GET(self) -> None:
        type(self).served += 1
        body = b"Hello World!" if self.status == 200 else b"boom"
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        if self.close_every and self.served % self.close_every == 0:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    handler = type("TestHandler", (Handler,), {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def run_load(url: str, seconds: float = 1.0) -> TrafficReport:
    traffic = Traffic(url, expected_body=b"Hello World!", rate=40, threads=4)
    traffic.start()
    time.sleep(seconds)
    return traffic.stop()


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/"


def test_every_request_is_counted_answered_on_both_kinds_of_connection(server):
    report = run_load(url_of(server))

    assert report.failed == 0
    assert report.new_connections.answered == report.new_connections.sent >= 10
    assert report.keep_alive.answered == report.keep_alive.sent >= 10
    assert 30 <= report.sent <= 50, "40 requests/s for about a second"


def test_a_wrong_answer_is_a_failure_with_its_status(server):
    server.RequestHandlerClass.status = 500
    report = run_load(url_of(server))

    assert report.failed == report.sent > 0
    assert report.keep_alive.failures[0].endswith("HTTP 500: b'boom'")


def test_a_server_that_closes_keep_alive_connections_costs_reconnects_not_failures(server):
    server.RequestHandlerClass.close_every = 3
    report = run_load(url_of(server))

    assert report.failed == 0
    assert report.reconnects >= 3


def test_a_refused_connection_is_a_failure(server):
    url = url_of(server)
    server.shutdown()
    server.server_close()
    report = run_load(url, seconds=0.5)

    assert report.failed == report.sent > 0
    assert "ConnectionRefusedError" in report.new_connections.failures[0]


def test_the_report_reads_back_from_its_json(server):
    import json
    from dataclasses import asdict

    report = run_load(url_of(server), seconds=0.3)
    assert TrafficReport.from_json(json.dumps(asdict(report))) == report


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://10.0.0.1:8000/", "only to loopback or to the local cluster's"),
        ("http://example.com/", "not to the name 'example.com'"),
        ("http://198.19.0.10:80/", "from inside the cluster's network namespace"),
        ("http://198.18.1.5:8000/", "from inside the cluster's network namespace"),
    ],
)
def test_load_goes_nowhere_but_loopback_and_the_clusters_namespace(url, says):
    with pytest.raises(TrafficError, match=says):
        check_target(url)


def test_the_rate_is_bounded():
    with pytest.raises(TrafficError, match="--rate must be above 0 and at most 200"):
        Traffic("http://127.0.0.1:1/", expected_body=b"", rate=1000)
