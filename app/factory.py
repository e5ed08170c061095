"""The WSGI app: a greeting and a health check, both plain text (see app/__init__.py)."""

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

_PLAIN_TEXT = "text/plain; charset=utf-8"


def create_app() -> Flask:
    """Build the WSGI app gunicorn serves; a factory keeps tests free of shared state."""
    app = Flask(__name__)

    @app.get("/")
    def hello() -> Response:
        return Response("Hello World!", content_type=_PLAIN_TEXT)

    @app.get("/_health")
    def health() -> Response:
        return Response("OK", content_type=_PLAIN_TEXT)

    app.register_error_handler(HTTPException, _plain_text_error)
    return app


def _plain_text_error(error: HTTPException) -> Response:
    # Flask's default error pages are HTML; a one-line status suits probes and curl alike. The
    # response comes from the exception so headers such as a 405's Allow are kept, and
    # unhandled errors arrive here as a 500 whose text never includes the traceback.
    response = error.get_response()
    response.set_data(f"{error.code} {error.name}")
    response.content_type = _PLAIN_TEXT
    return response
