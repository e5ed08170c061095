"""A namespace operator's identity, as the write-up's operators hold one: a client certificate
signed by the cluster's CA for a user with no rights of its own, given the rights of
scripts/operator-rbac.yaml in the namespaces it works in and nothing else.

The certificate is issued the way a cluster admin issues one on any cluster: a key and a
certificate signing request made here with openssl, approved through the
CertificateSigningRequest API (signer kubernetes.io/kube-apiserver-client), and the signed
certificate put into a kubeconfig next to the admin's cluster entry.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.core.proc import run
from harness.core.retry import wait_for
from harness.core.tools import ROOT
from harness.kube.client import Kube

OPERATOR_RBAC = ROOT / "scripts" / "operator-rbac.yaml"
SIGNER = "kubernetes.io/kube-apiserver-client"
CERT_SECONDS = 24 * 3600
SIGNED_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Operator:
    """A user known to the cluster by its certificate, and the kubeconfig that presents it."""

    user: str
    kubeconfig: Path

    def env(self, kube: Kube) -> dict[str, str]:
        """`kube`'s environment (tools on PATH, kubectl's cache) with this identity's
        kubeconfig."""
        return {**kube.env(), "KUBECONFIG": str(self.kubeconfig)}


def issue(kube: Kube, user: str, folder: Path) -> Operator:
    """A certificate for `user` signed by the cluster's CA (asked for and approved with
    `kube`'s admin rights), in a kubeconfig written to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    key, request = folder / f"{user}.key", folder / f"{user}.csr"
    run(
        [
            "openssl", "req", "-new", "-nodes", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-subj", f"/CN={user}", "-keyout", key, "-out", request,
        ]
    )  # fmt: skip
    csr = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": user},
        "spec": {
            "request": base64.b64encode(request.read_bytes()).decode(),
            "signerName": SIGNER,
            "expirationSeconds": CERT_SECONDS,
            "usages": ["client auth"],
        },
    }
    kube.kubectl("delete", "certificatesigningrequest", user, "--ignore-not-found")
    kube.kubectl("create", "-f", "-", input=json.dumps(csr))
    kube.kubectl("certificate", "approve", user)
    certificate = wait_for(
        lambda: kube.kubectl(
            "get", "certificatesigningrequest", user, "--output", "jsonpath={.status.certificate}"
        ),
        f"the cluster's CA to sign the certificate of {user}",
        SIGNED_TIMEOUT_S,
    )
    kube.kubectl("delete", "certificatesigningrequest", user)
    admin = json.loads(kube.kubectl("config", "view", "--raw", "--minify", "--output", "json"))
    kubeconfig = folder / f"{user}.kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": admin["clusters"],
                "users": [
                    {
                        "name": user,
                        "user": {
                            "client-certificate-data": certificate,
                            "client-key-data": base64.b64encode(key.read_bytes()).decode(),
                        },
                    }
                ],
                "contexts": [
                    {
                        "name": user,
                        "context": {"cluster": admin["clusters"][0]["name"], "user": user},
                    }
                ],
                "current-context": user,
            }
        )
    )
    kubeconfig.chmod(0o600)
    return Operator(user, kubeconfig)


def operator_rbac(user: str) -> list[dict[str, object]]:
    """scripts/operator-rbac.yaml's Role and RoleBinding, bound to `user`."""
    role, binding = yaml.safe_load_all(OPERATOR_RBAC.read_text())
    binding["subjects"] = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
    return [role, binding]


def grant(kube: Kube, operator: Operator, namespace: str) -> None:
    """Bind the operator Role to `operator` in `namespace` (as a cluster admin does once)."""
    listed = {"apiVersion": "v1", "kind": "List", "items": operator_rbac(operator.user)}
    kube.kubectl("apply", "--namespace", namespace, "-f", "-", input=json.dumps(listed))
