"""The benchmark's ceiling: the app's two answers as a bare WSGI callable, with no framework.

Mounted read-only into the app image by harness.bench.image and served by the same gunicorn
settings, so the gap to the real app is what Flask costs per request. Not shipped: the
image's build context holds only app/.
"""

from collections.abc import Callable, Iterable

_ANSWERS = {"/": b"Hello World!", "/_health": b"OK"}
_HEADERS = [("Content-Type", "text/plain; charset=utf-8")]


def application(
    environ: dict[str, object], start_response: Callable[..., object]
) -> Iterable[bytes]:
    body = _ANSWERS.get(str(environ.get("PATH_INFO")))
    if body is None:
        body = b"404 Not Found"
        start_response("404 Not Found", [*_HEADERS, ("Content-Length", str(len(body)))])
    else:
        start_response("200 OK", [*_HEADERS, ("Content-Length", str(len(body)))])
    return [body]
