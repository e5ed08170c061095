"""app/accesslog.py writes the very line gunicorn's own logger writes, from less work.

Each case logs one request through both loggers, set up by gunicorn from the same settings, and
compares what they print. The clock is pinned so both format one time.
"""

import base64
import io
import logging
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from app.accesslog import COMBINED, AccessLogger

PINNED_TIME = "[27/Nov/2026:20:55:10 +0000]"


class Lines(logging.Handler):
    """Keeps every line its logger formats: a handler of an operator's own logging config."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def log_request(logger: glogging.Logger, request: dict[str, Any]) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        **request.get("environ", {}),
    }
    environ = {name: value for name, value in environ.items() if value is not None}
    response = SimpleNamespace(
        status=request.get("status", "200 OK"),
        sent=request.get("sent", 12),
        headers=[("Content-Type", "text/html; charset=utf-8")],
    )
    headers = SimpleNamespace(headers=[("Host", "pod"), ("User-Agent", "wrk")])
    logger.access(response, headers, environ, timedelta(microseconds=1500))


def logger_to(
    stdout: io.StringIO, logger_class: type[glogging.Logger], **cfg: str
) -> tuple[glogging.Logger, logging.Handler]:
    """A logger set up by gunicorn for an access log on `-`, its handler writing to `stdout`."""
    config = Config()
    config.set("accesslog", "-")
    for name, value in cfg.items():
        config.set(name, value)
    logger = logger_class(config)
    # Only gunicorn's own handler, without any pytest may have added to every logger.
    [handler] = [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]
    logger.access_log.handlers = [handler]
    handler.setStream(stdout)
    return logger, handler


def logged_text(logger_class: type[glogging.Logger], request: dict[str, Any], **cfg: str) -> str:
    """What the logger prints for one request."""
    stdout = io.StringIO()
    logger, _ = logger_to(stdout, logger_class, **cfg)
    log_request(logger, request)
    return stdout.getvalue()


CASES = {
    "a plain request": {},
    "a query string and a percent sign": {"environ": {"RAW_URI": "/?q=100%25&x=%s"}},
    "quotes in the URL, the referer and the user agent": {
        "environ": {
            "RAW_URI": '/"quoted"',
            "HTTP_REFERER": 'https://example.test/"r"',
            "HTTP_USER_AGENT": 'agent "x" %(h)s',
        }
    },
    "a basic-auth user": {
        "environ": {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b'op"s:pw').decode()}
    },
    "an unreadable authorization header": {"environ": {"HTTP_AUTHORIZATION": "Basic !!"}},
    "no remote address": {"environ": {"REMOTE_ADDR": None}},
    "a status as a number, nothing sent": {"status": 404, "sent": None},
    "an empty body": {"sent": 0, "status": "204 No Content"},
    "HTTP/1.0": {"environ": {"SERVER_PROTOCOL": "HTTP/1.0", "REQUEST_METHOD": "HEAD"}},
}


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glogging.Logger, "now", lambda self: PINNED_TIME)
    monkeypatch.setattr(time, "time", lambda: 1_795_812_910.0)


@pytest.mark.parametrize("request_", CASES.values(), ids=CASES.keys())
def test_the_access_line_is_the_one_gunicorn_writes_with_its_default_format(
    request_: dict[str, Any],
) -> None:
    line = logged_text(AccessLogger, request_)
    assert line == logged_text(glogging.Logger, request_)
    assert line.count("\n") == 1 and line.endswith("\n")


def test_a_format_other_than_the_default_is_left_to_gunicorn() -> None:
    custom = {"access_log_format": '%(h)s %({user-agent}i)s %(D)s "%(r)s"'}
    ours = logged_text(AccessLogger, {}, **custom)
    assert ours == logged_text(glogging.Logger, {}, **custom)
    assert ours == '10.1.2.3 wrk 1500 "GET / HTTP/1.1"\n'


def test_the_default_format_is_apaches_combined_format() -> None:
    assert Config().access_log_format == COMBINED
    assert logged_text(AccessLogger, {}) == (
        f'10.1.2.3 - - {PINNED_TIME} "GET / HTTP/1.1" 200 12 "-" "-"\n'
    )


def test_an_access_log_through_other_handlers_gets_the_same_line_as_a_log_record() -> None:
    # A logging config of the operator's (gunicorn's --log-config) puts its own handlers there.
    logger, _ = logger_to(io.StringIO(), AccessLogger)
    lines = Lines()
    logger.access_log.handlers = [lines]
    request = CASES["quotes in the URL, the referer and the user agent"]
    log_request(logger, request)
    assert lines.lines == [logged_text(glogging.Logger, request).rstrip("\n")]


def test_the_time_is_formatted_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = iter(["[first]", "[second]"])
    clock = iter([100.1, 100.7, 101.2])
    monkeypatch.setattr(glogging.Logger, "now", lambda self: next(texts))
    monkeypatch.setattr(time, "time", lambda: next(clock))
    logger = AccessLogger(Config())
    assert [logger.now() for _ in range(3)] == ["[first]", "[first]", "[second]"]


def test_with_gunicorns_own_stdout_handler_no_log_record_is_made() -> None:
    # The saving the image's logger is for: the line is written to the handler's stream.
    stdout = io.StringIO()
    logger, handler = logger_to(stdout, AccessLogger)
    records: list[logging.LogRecord] = []
    handler.addFilter(records.append)
    log_request(logger, {})
    assert stdout.getvalue().startswith("10.1.2.3 - - ")
    assert records == []
