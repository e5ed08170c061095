"""gunicorn's logger with a cheaper access log: the same lines, written a batch at a time.

The access log's cost is not in building the line but in writing it: one ``write`` to the
container's log pipe per request wakes the engine's reader, and in gunicorn's threaded worker
the call hands the interpreter lock to the other thread and waits to get it back, which
costs about as much again as building the line (docs/benchmark.md, "Where the access log's
time goes"). So this logger

- builds the nine fields of gunicorn's default format only (gunicorn's own ``Logger.access``
  builds every field any format could name, then copies them all to escape quotes), escaped the
  same way, without a log record;
- hands each line to ``BatchedLines``, which writes whole lines in one ``write`` of at most
  ``PIPE_BUF`` bytes (the most a pipe takes whole, so two workers' batches never interleave
  mid-line): when the next line would not fit, and at the latest ``MAX_DELAY_S`` after a
  line was added, from a thread of the worker's own. Lines keep their order.

Nothing is held past an exit Python runs: ``logging.shutdown`` (at interpreter exit, on every
path a gunicorn worker stops by, SIGTERM, SIGQUIT, SIGINT, a worker timeout's SIGABRT, a
reload) flushes every handler. A SIGKILL (an OOM kill, or the kubelet once the grace period
is over) loses the lines of the last ``MAX_DELAY_S`` at most.

With handlers other than gunicorn's own stdout handler (an operator's logging config, a log
file) the line goes through them as a log record, and a format set by other means (for example
``GUNICORN_CMD_ARGS=--access-logformat``) is left to gunicorn; both are still batched when the
access log goes to stdout.

gunicorn.conf.py names this class as ``logger_class``; it imports only gunicorn, never Flask.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TextIO

from gunicorn import glogging
from gunicorn.config import AccessLogFormat

# The format this class writes: gunicorn's default, Apache's "combined" log format.
COMBINED = AccessLogFormat.default
# A line waits at most this long for the lines that share its write.
MAX_DELAY_S = 0.5
# The most bytes one write puts in a pipe in one piece (POSIX: at least 512; Linux: 4096).
BATCH_BYTES = select.PIPE_BUF


def _quoted(value: str) -> str:
    """Escape a value the way gunicorn's SafeAtoms does."""
    return value.replace('"', '\\"')


def _size(line: str) -> int:
    """The bytes `line` and its newline take in UTF-8."""
    return (len(line) if line.isascii() else len(line.encode("utf-8", "surrogateescape"))) + 1


class BatchedLines(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes its lines in batches of whole lines.

    ``add(line)`` keeps a line; it is written with the lines kept before it when the batch
    would grow past `batch_bytes`, by ``flush()``, or by the handler's flusher thread at most
    `max_delay_s` after it was kept. The thread is started by the first line a process adds,
    so each gunicorn worker has its own (a thread does not survive a fork). Records emitted
    through logging are formatted and kept the same way, in the same order.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        batch_bytes: int = BATCH_BYTES,
        max_delay_s: float = MAX_DELAY_S,
    ) -> None:
        super().__init__(stream)
        self.batch_bytes = batch_bytes
        self.max_delay_s = max_delay_s
        self._lines: list[str] = []
        self._bytes = 0
        self._pid = -1  # the process whose flusher thread runs
        self._due = threading.Event()  # set while lines wait for the flusher
        self._closed = False

    def add(self, line: str) -> None:
        size = _size(line)
        with self.lock:  # type: ignore[union-attr]
            if self._bytes + size > self.batch_bytes:
                self._write_batch()
            self._lines.append(line)
            self._bytes += size
            if self._closed:  # past logging.shutdown: nothing would flush it later
                self._write_batch()
            elif len(self._lines) == 1:
                self._start_flusher()
                self._due.set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.add(self.format(record))
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_batch()
            super().flush()

    def close(self) -> None:
        """Write what is kept and let the flusher thread end (logging.shutdown calls this)."""
        with self.lock:  # type: ignore[union-attr]
            self._write_batch()
            self._closed = True
            self._due.set()
        super().close()

    def _write_batch(self) -> None:
        """Write the kept lines in one write (the caller holds the lock)."""
        self._due.clear()
        if not self._lines:
            return
        text = "\n".join(self._lines) + "\n"
        self._lines.clear()
        self._bytes = 0
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:
            # logging's own answer to a stream that fails: a traceback on stderr, no raise.
            self.handleError(logging.makeLogRecord({"msg": text}))

    def _start_flusher(self) -> None:
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._due = threading.Event()
        threading.Thread(target=self._flush_when_due, name="access-log", daemon=True).start()

    def _flush_when_due(self) -> None:
        due = self._due
        while True:
            due.wait()
            time.sleep(self.max_delay_s)
            if self._closed:
                return
            self.flush()


class AccessLogger(glogging.Logger):
    """gunicorn's logger; the access log line is built and written differently."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # Read once per configuration: each read of a setting goes through Config.__getattr__.
        self._combined = cfg.access_log_format == COMBINED
        # gunicorn's own handler for "-" prints a record's message and a newline to stdout;
        # the batched one prints the same.
        for handler in list(self.access_log.handlers):
            if getattr(handler, "_gunicorn", False) and type(handler) is logging.StreamHandler:
                batched = BatchedLines(handler.stream)
                batched.setFormatter(handler.formatter)
                batched._gunicorn = True  # type: ignore[attr-defined]
                self.access_log.removeHandler(handler)
                self.access_log.addHandler(batched)

    def access(
        self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: timedelta
    ) -> None:
        if not self.access_log_enabled:
            return
        if not self._combined:
            super().access(resp, req, environ, request_time)
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        fields = (
            environ.get("REMOTE_ADDR", "-"),
            "-",
            self._get_user(environ) or "-",
            self.now(),
        )
        request = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        line = (
            " ".join(_quoted(str(field)) for field in fields)
            + f' "{_quoted(request)}" {_quoted(str(status))} '
            + ("-" if sent is None else str(sent))
            + f' "{_quoted(environ.get("HTTP_REFERER", "-"))}"'
            + f' "{_quoted(environ.get("HTTP_USER_AGENT", "-"))}"'
        )
        try:
            self._write(line)
        except Exception:
            self.exception("Could not write the access log line.")

    def _write(self, line: str) -> None:
        handlers = self.access_log.handlers
        if len(handlers) == 1 and type(handlers[0]) is BatchedLines:
            handlers[0].add(line)
        else:
            # No arguments, so logging prints the line as it is: a "%" in a URL stays.
            self.access_log.info(line)

    def now(self) -> str:
        """The time in Apache's log format, formatted once a second rather than per request."""
        second = int(time.time())
        if second != self._now_second:
            self._now_second, self._now_text = second, super().now()
        return self._now_text

    _now_second = -1
    _now_text = ""
