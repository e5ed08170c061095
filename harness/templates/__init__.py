"""The jinja2 templates of the harness's reports (rollout plan, ipool docs)."""

from __future__ import annotations

from pathlib import Path

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    undefined=jinja2.StrictUndefined,  # a misspelt field fails instead of printing nothing
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_template(name: str, **context: object) -> str:
    return _ENV.get_template(name).render(**context)
