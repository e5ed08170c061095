"""Server tunables read from the environment, kept here so they can be imported and tested.

``gunicorn.conf.py`` cannot be imported by name (its file name has a dot), so it calls these.
"""

import re
from collections.abc import Mapping

_WHOLE_NUMBER = re.compile(r"[0-9]+")


class SettingError(ValueError):
    """An environment variable holds a value the server must not start with."""


def positive_int_from_env(name: str, default: int, environ: Mapping[str, str]) -> int:
    """Return ``environ[name]`` as an integer of at least 1, or ``default`` when it is unset.

    Stricter than ``int()``, which would also accept " 2", "+2" and "1_0": a typo in the
    chart's values should stop the pod with a message, not run a surprising number.
    """
    raw = environ.get(name)
    if raw is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
        raise SettingError(f"{name} must be a whole number of 1 or more, got {raw!r}.")
    return int(raw)


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
