"""A small Kubernetes REST client on the standard library, for long-running loops.

The emulator and the rollout recorder poll the API server several times a second; a kubectl
process per call would cost more CPU than the cluster itself on two cores, and the official
Python client pulls in an async HTTP stack. This keeps one HTTPS connection open and speaks
only the few verbs those loops need. Credentials come from a kubeconfig: client certificates,
a bearer token, or none, with the CA as a file or inline data.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import tempfile
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.core.objects import Obj
from harness.core.proc import ExternalError


class ApiError(ExternalError):
    """The API server answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        try:
            message = json.loads(body).get("message", body)
        except ValueError:
            message = body
        super().__init__(f"{method} {path}: HTTP {status}: {message}")


class KubeAPI:
    """One cluster, named by a kubeconfig file (its current context)."""

    def __init__(self, kubeconfig: Path, timeout: float = 30.0) -> None:
        config = yaml.safe_load(Path(kubeconfig).read_text())
        context_name = config["current-context"]
        context = _named(config["contexts"], context_name)["context"]
        cluster = _named(config["clusters"], context["cluster"])["cluster"]
        user = _named(config.get("users", []), context.get("user", ""), missing_ok=True)
        user = (user or {}).get("user", {})
        server = urllib.parse.urlsplit(cluster["server"])
        self._host = server.hostname or "127.0.0.1"
        self._port = server.port or (443 if server.scheme == "https" else 80)
        self._prefix = server.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"Accept": "application/json"}
        if token := user.get("token"):
            self._headers["Authorization"] = f"Bearer {token}"
        self._scratch = tempfile.TemporaryDirectory(prefix="kubeapi-")
        self._tls = self._tls_context(cluster, user) if server.scheme == "https" else None
        self._conn: http.client.HTTPConnection | None = None
        # One connection, one request at a time: the recorder's thread shares this client.
        self._lock = threading.Lock()

    def _tls_context(self, cluster: Obj, user: Obj) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if cluster.get("insecure-skip-tls-verify"):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif ca := self._file(cluster, "certificate-authority"):
            context.load_verify_locations(ca)
        cert, key = self._file(user, "client-certificate"), self._file(user, "client-key")
        if cert and key:
            context.load_cert_chain(cert, key)
        return context

    def _file(self, section: Obj, key: str) -> str | None:
        """A kubeconfig credential as a file path, writing inline `<key>-data` to scratch."""
        if section.get(key):
            return str(section[key])
        data = section.get(f"{key}-data")
        if not data:
            return None
        path = Path(self._scratch.name) / key
        path.write_bytes(base64.b64decode(data))
        return str(path)

    def request(
        self, method: str, path: str, body: object = None, content_type: str = "application/json"
    ) -> Obj:
        payload = None if body is None else json.dumps(body).encode()
        headers = dict(self._headers)
        if payload is not None:
            headers["Content-Type"] = content_type
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    conn.request(method, self._prefix + path, body=payload, headers=headers)
                    response = conn.getresponse()
                    text = response.read().decode()
                    break
                except (http.client.HTTPException, OSError):
                    # A kept-alive connection the server closed: reconnect once.
                    self._drop()
                    if attempt == 2:
                        raise
        if response.status >= 400:
            raise ApiError(method, path, response.status, text)
        return json.loads(text) if text else {}

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._tls is not None:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, context=self._tls, timeout=self._timeout
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
        return self._conn

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self, path: str) -> Obj:
        return self.request("GET", path)

    def items(self, path: str, **query: str) -> list[Obj]:
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return self.get(path + suffix).get("items", [])

    def create(self, path: str, obj: Mapping[str, Any]) -> Obj:
        return self.request("POST", path, dict(obj))

    def json_patch(self, path: str, operations: Sequence[Mapping[str, Any]]) -> Obj:
        return self.request("PATCH", path, list(operations), "application/json-patch+json")

    def merge_patch(self, path: str, patch: Mapping[str, Any]) -> Obj:
        return self.request("PATCH", path, dict(patch), "application/merge-patch+json")


def _named(entries: Sequence[Obj], name: str, missing_ok: bool = False) -> Obj | None:
    for entry in entries:
        if entry.get("name") == name:
            return entry
    if missing_ok:
        return None
    raise KeyError(f"kubeconfig has no entry named {name!r}")


def pointer(key: str) -> str:
    """A map key as a JSON-pointer segment (`quantil.com/ipool` -> `quantil.com~1ipool`)."""
    return key.replace("~", "~0").replace("/", "~1")
