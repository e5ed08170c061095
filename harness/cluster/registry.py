"""The local cluster's image registry: Debian's docker-registry with htpasswd auth, inside the
cluster's namespaces on the first node's address, port 5000, where every node reaches it.

The node pulls the chart's image under its own name: containerd's registry host
configuration sends `registry-qcc.quantil.com` to this registry, so the chart's defaults
(repository, tag, the `myregistrykey` pull secret) work unchanged. Images are pushed from
the root namespace through the holder's loopback forward. The password is made for each
cluster and kept in its state folder, never in the repository.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from harness.cluster.addresses import NODE_IP

DOCKER_REGISTRY = Path("/usr/bin/docker-registry")
PORT = 5000
ADDRESS = f"{NODE_IP}:{PORT}"
# The registry the chart's image names; the node finds it here.
MIRRORED = "registry-qcc.quantil.com"
USERNAME = "dummy-flask-app"
# The chart's default imagePullSecrets entry.
PULL_SECRET = "myregistrykey"


@dataclass(frozen=True)
class Registry:
    state: Path

    @property
    def htpasswd(self) -> Path:
        return self.state / "htpasswd"

    @property
    def password(self) -> str:
        """This cluster's password, made on first use."""
        path = self.state / "password"
        if not path.exists():
            self.state.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(18))
        return path.read_text()

    def config(self) -> str:
        """docker-registry's configuration (YAML; JSON is YAML)."""
        hashed = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=8)).decode()
        self.htpasswd.write_text(f"{USERNAME}:{hashed}\n")
        return json.dumps(
            {
                "version": 0.1,
                "log": {"level": "info"},
                "storage": {"filesystem": {"rootdirectory": str(self.state / "data")}},
                "http": {"addr": ADDRESS, "secret": secrets.token_hex(16)},
                "auth": {"htpasswd": {"realm": "dummy-flask-app", "path": str(self.htpasswd)}},
            },
            indent=2,
        )

    @staticmethod
    def hosts_toml() -> str:
        """containerd's host configuration for MIRRORED: pull from this registry instead."""
        return "\n".join(
            [
                f'server = "https://{MIRRORED}"',
                f'[host."http://{ADDRESS}"]',
                '  capabilities = ["pull", "resolve"]',
                "",
            ]
        )

    def pull_secret(self, namespace: str, name: str = PULL_SECRET) -> dict[str, object]:
        """The docker-registry Secret the chart's pods pull with, for this registry."""
        auths = {MIRRORED: {"username": USERNAME, "password": self.password}}
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {".dockerconfigjson": json.dumps({"auths": auths})},
        }
