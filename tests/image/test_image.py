"""The image built from the repo's Dockerfile: what it runs, as whom, and which version it is."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.container.engine import Engine
from harness.ops.image import REPOSITORY, app_version

pytestmark = pytest.mark.image

GUNICORN_CMD = ["gunicorn", "--config", "app/gunicorn.conf.py", "app.wsgi:application"]
# Variables that switch Flask into debug mode (reloader and interactive debugger).
DEBUG_VARIABLES = ("FLASK_DEBUG", "FLASK_ENV", "FLASK_RUN_FROM_CLI", "WERKZEUG_RUN_MAIN")


@pytest.fixture(scope="module")
def config(engine: Engine, app_image: str) -> dict[str, Any]:
    return json.loads(engine.docker("image", "inspect", app_image).stdout)[0]["Config"]


def test_image_is_tagged_and_labelled_with_the_chart_app_version(
    engine: Engine, app_image: str, config: dict[str, Any]
) -> None:
    version = app_version()
    assert app_image == f"{REPOSITORY}:{version}"
    assert config["Labels"]["org.opencontainers.image.version"] == version
    assert config["Labels"]["org.opencontainers.image.title"] == "dummy-flask-app"


def test_image_starts_gunicorn_and_nothing_else(config: dict[str, Any]) -> None:
    assert config["Entrypoint"] is None
    assert config["Cmd"] == GUNICORN_CMD


def test_image_sets_no_variable_that_turns_on_flask_debug_mode(config: dict[str, Any]) -> None:
    names = {entry.split("=", 1)[0] for entry in config["Env"]}
    assert not names & set(DEBUG_VARIABLES)


def test_image_user_is_a_numeric_non_root_uid_and_gid(config: dict[str, Any]) -> None:
    uid, gid = config["User"].split(":")
    assert uid.isdigit() and gid.isdigit(), config["User"]
    assert int(uid) != 0 and int(gid) != 0


def test_a_container_without_a_user_option_runs_as_the_image_user(
    engine: Engine, app_image: str, config: dict[str, Any]
) -> None:
    # Kubernetes runs the image's own user unless the pod overrides it.
    command = ["sh", "-c", "echo $(id -u):$(id -g)"]
    ids = engine.docker("run", "--rm", "--network", "none", app_image, *command).stdout
    assert ids.strip() == config["User"]
