"""Reports from jinja2 templates kept next to the package that writes them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2


@cache
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,  # a misspelt field fails instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_template(folder: Path, name: str, **context: object) -> str:
    return _environment(folder).get_template(name).render(**context)
