"""The Flask app answers its two routes in plain text and never leaks a traceback."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.factory import create_app

PLAIN_TEXT = "text/plain; charset=utf-8"


@pytest.fixture
def app() -> Flask:
    return create_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_root_says_hello_world(client: FlaskClient) -> None:
    response = client.get("/")
    assert (response.status_code, response.text) == (200, "Hello World!")
    assert response.content_type == PLAIN_TEXT


def test_health_says_ok(client: FlaskClient) -> None:
    response = client.get("/_health")
    assert (response.status_code, response.text) == (200, "OK")
    assert response.content_type == PLAIN_TEXT


def test_head_to_health_succeeds_without_a_body(client: FlaskClient) -> None:
    response = client.head("/_health")
    assert (response.status_code, response.data) == (200, b"")


def test_unknown_path_is_404_without_a_traceback(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert (response.status_code, response.text) == (404, "404 Not Found")
    assert response.content_type == PLAIN_TEXT


def test_post_to_root_is_405_and_names_the_allowed_methods(client: FlaskClient) -> None:
    response = client.post("/")
    assert (response.status_code, response.text) == (405, "405 Method Not Allowed")
    assert response.content_type == PLAIN_TEXT
    assert {"GET", "HEAD"} <= set(response.allow)


def test_a_failing_view_is_a_plain_500_without_a_traceback(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")
    assert (response.status_code, response.text) == (500, "500 Internal Server Error")
    assert response.content_type == PLAIN_TEXT


def test_app_is_not_in_debug_mode(app: Flask) -> None:
    assert not app.debug
    assert not app.testing
    assert not app.config["PROPAGATE_EXCEPTIONS"]


def test_each_call_builds_a_separate_app() -> None:
    assert create_app() is not create_app()
