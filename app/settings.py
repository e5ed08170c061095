"""Server tunables read from the environment, kept here so they can be imported and tested.

``gunicorn.conf.py`` cannot be imported by name (its file name has a dot), so it calls these;
the benchmark (harness/bench/image.py) calls ``server_settings`` too, to say what each
environment it starts the image with amounts to.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

_WHOLE_NUMBER = re.compile(r"[0-9]+")

# The worker classes the image can run: both ship with gunicorn itself (gevent and the other
# async ones need packages the image does not install).
WORKER_CLASSES = ("sync", "gthread")


# The environment variables server_settings reads, in the order the chart's pod sets them.
VARIABLES = (
    "WEB_CONCURRENCY",
    "GUNICORN_WORKER_CLASS",
    "GUNICORN_THREADS",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_ACCESS_LOG",
)


class SettingError(ValueError):
    """An environment variable holds a value the server must not start with."""


def _whole_number_from_env(
    name: str, default: int, minimum: int, environ: Mapping[str, str]
) -> int:
    """Return ``environ[name]`` as an integer of at least ``minimum``, or ``default`` if unset.

    Stricter than ``int()``, which would also accept " 2", "+2" and "1_0": a typo in the
    chart's values should stop the pod with a message, not run a surprising number.
    """
    raw = environ.get(name)
    if raw is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) < minimum:
        raise SettingError(f"{name} must be a whole number of {minimum} or more, got {raw!r}.")
    return int(raw)


def positive_int_from_env(name: str, default: int, environ: Mapping[str, str]) -> int:
    """Return ``environ[name]`` as an integer of at least 1, or ``default`` when it is unset."""
    return _whole_number_from_env(name, default, 1, environ)


def non_negative_int_from_env(name: str, default: int, environ: Mapping[str, str]) -> int:
    """Return ``environ[name]`` as an integer of at least 0, or ``default`` when it is unset."""
    return _whole_number_from_env(name, default, 0, environ)


def bool_from_env(name: str, default: bool, environ: Mapping[str, str]) -> bool:
    """Return ``environ[name]`` as a boolean, or ``default`` when it is unset.

    Exactly "true" or "false", the way the chart writes a boolean value: "1", "yes", "True"
    and "" are refused rather than guessed at, so a typo stops the pod with a message.
    """
    raw = environ.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise SettingError(f"{name} must be true or false, got {raw!r}.")
    return raw == "true"


def choice_from_env(
    name: str, default: str, choices: tuple[str, ...], environ: Mapping[str, str]
) -> str:
    """Return ``environ[name]`` when it is exactly one of ``choices``, or ``default`` if unset."""
    raw = environ.get(name)
    if raw is None:
        return default
    if raw not in choices:
        raise SettingError(f"{name} must be one of {', '.join(choices)}, got {raw!r}.")
    return raw


@dataclass(frozen=True)
class ServerSettings:
    """What gunicorn runs with, once the environment is read."""

    worker_class: str  # "sync" or "gthread"
    workers: int
    threads: int  # per worker; always 1 with the sync worker class
    keepalive_s: int  # seconds an idle connection is kept open; 0: none (sync keeps none)
    graceful_timeout_s: int
    access_log: bool


def server_settings(environ: Mapping[str, str]) -> ServerSettings:
    """The server's settings from ``environ``, the image's defaults for what it leaves unset.

    The defaults are one gthread worker with 1 thread, keep-alive 5 s, graceful timeout 20 s
    and the access log on (app/gunicorn.conf.py says why).
    """
    threads = positive_int_from_env("GUNICORN_THREADS", 1, environ)
    worker_class = choice_from_env("GUNICORN_WORKER_CLASS", "gthread", WORKER_CLASSES, environ)
    if worker_class == "sync" and threads > 1:
        # gunicorn itself would quietly run gthread workers instead.
        raise SettingError(
            f"GUNICORN_THREADS must be 1 with GUNICORN_WORKER_CLASS sync (gunicorn would run "
            f"gthread workers instead), got {environ['GUNICORN_THREADS']!r}."
        )
    return ServerSettings(
        worker_class=worker_class,
        workers=positive_int_from_env("WEB_CONCURRENCY", 1, environ),
        threads=threads,
        keepalive_s=non_negative_int_from_env("GUNICORN_KEEPALIVE", 5, environ),
        graceful_timeout_s=positive_int_from_env("GUNICORN_GRACEFUL_TIMEOUT", 20, environ),
        access_log=bool_from_env("GUNICORN_ACCESS_LOG", True, environ),
    )
