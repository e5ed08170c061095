"""kubectl in one namespace, as the operator commands call it.

A call the API server refuses for want of rights raises `Forbidden` at once, naming the verb
and resource: no wait retries it, since rights do not arrive by waiting. Any other failure
stays a CommandError, which waits retry (a connection blip, an object not there yet).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from harness.core.objects import Obj
from harness.core.proc import CommandError, run
from harness.ops.cli import Forbidden, forbidden


class Kubectl:
    """kubectl in one namespace, with the caller's environment (KUBECONFIG)."""

    def __init__(self, path: Path, namespace: str, env: Mapping[str, str] | None = None) -> None:
        self.path, self.namespace, self.env = str(path), namespace, env

    def __call__(self, *args: str, input: str | None = None) -> str:
        command = [self.path, "--namespace", self.namespace, *args]
        try:
            return run(
                command, env=None if self.env is None else dict(self.env), input=input
            ).stdout
        except CommandError as error:
            refused = forbidden(error)
            if refused is not None:
                raise refused from None
            raise

    def get(self, resource: str) -> Obj | None:
        text = self("get", resource, "--output", "json", "--ignore-not-found")
        return json.loads(text) if text.strip() else None

    def items(self, kind: str, *args: str) -> list[Obj]:
        return json.loads(self("get", kind, *args, "--output", "json"))["items"]

    def scale(self, resource: str, replicas: int) -> None:
        print(f"  scale {resource} to {replicas}", flush=True)
        self("scale", resource, f"--replicas={replicas}")

    def forget_scaling(self, resource: str) -> None:
        """Drop the field ownership `kubectl scale` took on `resource`'s replicas: Helm 4's
        server-side apply would otherwise refuse the next change of replicaCount."""
        text = self("get", resource, "--output", "json", "--show-managed-fields")
        fields = json.loads(text)["metadata"].get("managedFields", [])
        kept = [entry for entry in fields if entry.get("subresource") != "scale"]
        if kept != fields:
            patch = [{"op": "replace", "path": "/metadata/managedFields", "value": kept}]
            self("patch", resource, "--type=json", "--patch", json.dumps(patch))

    def apply(self, obj: Obj, field_manager: str) -> None:
        """Server-side apply as `field_manager`: the fields become that manager's alone."""
        self(
            "apply",
            "--server-side",
            f"--field-manager={field_manager}",
            "--filename",
            "-",
            input=json.dumps(obj),
        )

    def can_i(self, verb: str, resource: str) -> bool:
        """Whether the identity may `verb` `resource` here (`kubectl auth can-i`), which every
        authenticated identity may ask."""
        command = [self.path, "--namespace", self.namespace, "auth", "can-i", verb, resource]
        done = run(command, env=None if self.env is None else dict(self.env), check=False)
        return done.stdout.strip() == "yes"

    def ensure_namespace(self) -> None:
        """Create the namespace when it is missing and the identity may.

        helm's `--create-namespace` is not used: Helm 4 applies the Namespace even when it
        exists, which an identity with rights in that namespace only may not do. An identity
        that may not read the namespace but may read helm's records there (Secrets) is let
        through; one that may do neither is told it has no rights there.
        """
        try:
            if self.get(f"namespace/{self.namespace}") is not None:
                return
        except Forbidden:
            if self.can_i("list", "secrets"):
                return  # rights in the namespace, if not on its object: it exists
            raise Forbidden(
                f"forbidden: this identity has no rights in namespace {self.namespace}, which "
                "may not exist either; a cluster admin creates it (kubectl create namespace "
                f"{self.namespace}) and applies scripts/operator-rbac.yaml there"
            ) from None
        if not self.can_i("create", "namespaces"):
            raise Forbidden(
                f"namespace {self.namespace} does not exist and this identity may not create "
                f"namespaces; a cluster admin runs: kubectl create namespace {self.namespace}"
            )
        print(f"+ kubectl create namespace {self.namespace}", flush=True)
        self("create", "namespace", self.namespace)
