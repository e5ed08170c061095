"""app/accesslog.py writes the very line gunicorn's own logger writes, from less work.

Each case logs one request through both loggers, set up by gunicorn from the same settings, and
compares what they print. The clock is pinned so both format one time.
"""

import base64
import io
import logging
import os
import select
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from app.accesslog import COMBINED, AccessLogger, BatchedLines

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
    """What the logger prints for one request, once its handler is flushed."""
    stdout = io.StringIO()
    logger, handler = logger_to(stdout, logger_class, **cfg)
    log_request(logger, request)
    handler.close()
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
    # Part of the saving: the line is handed to the batching handler as it is.
    stdout = io.StringIO()
    logger, handler = logger_to(stdout, AccessLogger)
    records: list[logging.LogRecord] = []
    handler.addFilter(records.append)
    log_request(logger, {})
    handler.close()
    assert stdout.getvalue().startswith("10.1.2.3 - - ")
    assert records == []


def test_gunicorns_stdout_handler_is_replaced_by_the_batching_one() -> None:
    _, handler = logger_to(io.StringIO(), AccessLogger)
    assert type(handler) is BatchedLines
    _, theirs = logger_to(io.StringIO(), glogging.Logger)
    assert type(theirs) is logging.StreamHandler


def test_an_access_log_file_keeps_gunicorns_own_handler(tmp_path: Path) -> None:
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = AccessLogger(config)
    [handler] = [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]
    assert type(handler) is logging.FileHandler
    handler.close()


# --- the batches, on a real pipe ---


@pytest.fixture
def pipe() -> Iterator[tuple[TextIO, int]]:
    """A pipe's write end as a text stream like the container's stdout, and its read end."""
    read_fd, write_fd = os.pipe()
    writer = open(write_fd, "w", buffering=1, encoding="utf-8")  # noqa: SIM115
    yield writer, read_fd
    writer.close()
    os.close(read_fd)


def read_writes(read_fd: int, wait_s: float = 0.2) -> list[bytes]:
    """Each read the pipe answers, until it stays empty for `wait_s`."""
    chunks = []
    while select.select([read_fd], [], [], wait_s)[0]:
        chunks.append(os.read(read_fd, 1 << 16))
    return chunks


def read_lines(read_fd: int, count: int, within_s: float = 3.0) -> list[str]:
    """The first `count` lines the pipe answers within `within_s`; fewer if it ran out of time."""
    deadline, text = time.monotonic() + within_s, b""
    while text.count(b"\n") < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([read_fd], [], [], left)[0]:
            break
        text += os.read(read_fd, 1 << 16)
    return text.decode().splitlines()


def test_lines_are_written_in_order_in_whole_line_writes_of_at_most_pipe_buf(
    pipe: tuple[TextIO, int],
) -> None:
    stream, read_fd = pipe
    writes: list[str] = []
    real_write = stream.write
    stream.write = lambda text: writes.append(text) or real_write(text)  # type: ignore[method-assign]
    handler = BatchedLines(stream, max_delay_s=60)
    lines = [f"line {n} " + "x" * (n % 97) + ("é" if n % 5 == 0 else "") for n in range(300)]
    for line in lines:
        handler.add(line)
    handler.flush()
    assert "".join(writes) == "".join(line + "\n" for line in lines)
    assert len(writes) > 1
    assert all(w.endswith("\n") and len(w.encode()) <= select.PIPE_BUF for w in writes)
    assert read_lines(read_fd, len(lines)) == lines
    handler.close()


def test_a_line_longer_than_a_batch_is_written_whole_on_its_own(pipe: tuple[TextIO, int]) -> None:
    stream, read_fd = pipe
    handler = BatchedLines(stream, batch_bytes=64, max_delay_s=60)
    long = "GET /" + "a" * 200
    for line in ("first", long, "last"):
        handler.add(line)
    handler.close()
    assert read_lines(read_fd, 3) == ["first", long, "last"]


def test_a_kept_line_is_written_by_the_flusher_with_no_other_line_after_it(
    pipe: tuple[TextIO, int],
) -> None:
    stream, read_fd = pipe
    handler = BatchedLines(stream, max_delay_s=0.2)
    handler.add("alone")
    # Nothing is written at once; the flusher writes it about 0.2 s later, well within 3 s.
    assert read_writes(read_fd, 0.05) == []
    assert read_lines(read_fd, 1) == ["alone"]
    handler.add("again")
    assert read_lines(read_fd, 1) == ["again"]
    handler.close()


def test_closing_the_handler_writes_what_it_keeps_and_later_lines_go_straight_out(
    pipe: tuple[TextIO, int],
) -> None:
    stream, read_fd = pipe
    handler = BatchedLines(stream, max_delay_s=60)
    handler.add("kept")
    handler.close()
    assert read_writes(read_fd) == [b"kept\n"]
    handler.add("after shutdown")
    assert read_writes(read_fd) == [b"after shutdown\n"]


def test_records_through_the_handler_keep_their_place_among_added_lines(
    pipe: tuple[TextIO, int],
) -> None:
    stream, read_fd = pipe
    handler = BatchedLines(stream, max_delay_s=60)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.add("one")
    handler.handle(logging.makeLogRecord({"msg": "two %s", "args": ("!",)}))
    handler.add("three")
    handler.close()
    assert read_lines(read_fd, 3) == ["one", "two !", "three"]


def test_a_forked_child_flushes_its_own_lines_from_a_thread_of_its_own(
    pipe: tuple[TextIO, int],
) -> None:
    # gunicorn's master makes the handler and forks the workers; threads do not survive a fork.
    stream, read_fd = pipe
    handler = BatchedLines(stream, max_delay_s=0.2)
    handler.add("parent")  # starts the parent's flusher thread
    handler.flush()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            handler.add("child")
            time.sleep(1.0)  # written by the child's flusher: no flush(), and no exit handler
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    assert read_lines(read_fd, 2) == ["parent", "child"]
    handler.close()
