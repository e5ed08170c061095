"""cosign signatures on a chart in an OCI registry: made with a key pair, checked against its
public key, with no transparency log and nothing asked of any service but the registry.

A cosign signature names the chart by digest and is stored next to it in the same repository
(a `sha256-<digest>.sig` tag). A chart pushed again under the same version gets a new digest,
which no signature names, so checking by the digest helm pulled catches a swapped chart.

cosign reads registry credentials from a Docker config; helm keeps its logins in a file of
the same format (`helm registry login`), so each call here gets a Docker config folder whose
config.json is helm's: one login serves both.

    cosign generate-key-pair           # cosign.key (secret, COSIGN_PASSWORD) and cosign.pub
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from harness.core.proc import CommandError, run
from harness.ops import cli

# The least trust root cosign takes. With a key and no transparency log it trusts nothing in
# it; given this, cosign verify does not go out for the public Sigstore root.
EMPTY_TRUSTED_ROOT = '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}'
TIMEOUT_S = 120.0

# cosign's words for each way a chart fails verification, and what they mean to an operator.
_VERIFY_FAILURES = (
    (
        "no signatures found",
        "it has no cosign signature: nobody signed it, or it was changed after it was signed",
    ),
    ("no matching signatures", "it is signed, but not by the key in --cosign-key"),
)


def oci_name(reference: str, digest: str) -> str:
    """cosign's name for a chart: the oci:// reference without its scheme, at `digest`."""
    return f"{reference.removeprefix('oci://')}@{digest}"


def _registry_flags(plain_http: bool) -> list[str]:
    return ["--allow-http-registry", "--allow-insecure-registry"] if plain_http else []


@contextlib.contextmanager
def _env(helm: Path) -> Iterator[dict[str, str]]:
    """The environment for cosign: helm's registry logins as its Docker config."""
    logins = Path(run([helm, "env", "HELM_REGISTRY_CONFIG"]).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="dfa-cosign-") as folder:
        if logins.is_file():
            (Path(folder) / "config.json").symlink_to(logins.resolve())
        (Path(folder) / "trusted-root.json").write_text(EMPTY_TRUSTED_ROOT)
        yield {**os.environ, "DOCKER_CONFIG": folder}


def check_password(environ: Mapping[str, str] = os.environ) -> None:
    """Refused unless COSIGN_PASSWORD is set: cosign would ask for it on a terminal."""
    if "COSIGN_PASSWORD" not in environ:
        raise cli.Refused(
            "--cosign-key: set COSIGN_PASSWORD to the key's password (empty for a key made"
            " without one); cosign would otherwise ask for it on the terminal"
        )


def public_key(cosign: Path, key: Path) -> str:
    """The public key of the secret key file `key` (COSIGN_PASSWORD unlocks it)."""
    return run([cosign, "public-key", "--key", str(key)], timeout=TIMEOUT_S).stdout


def verify(
    cosign: Path, helm: Path, name: str, public: Path, plain_http: bool
) -> subprocess.CompletedProcess[str]:
    """`cosign verify` of `name` (REGISTRY/PATH@DIGEST) against `public`, however it ends; on
    success its stdout lists the signatures found, as JSON."""
    with _env(helm) as env:
        return run(
            [
                cosign,
                "verify",
                "--key",
                str(public),
                "--insecure-ignore-tlog=true",
                "--trusted-root",
                str(Path(env["DOCKER_CONFIG"]) / "trusted-root.json"),
                *_registry_flags(plain_http),
                name,
            ],
            check=False,
            env=env,
            timeout=TIMEOUT_S,
        )


def verify_failure(cosign: Path, helm: Path, name: str, public: Path, plain_http: bool) -> str:
    """Why `name` (REGISTRY/PATH@DIGEST) has no signature by `public`; "" when it has one."""
    done = verify(cosign, helm, name, public, plain_http)
    if done.returncode == 0:
        return ""
    said = done.stderr + done.stdout
    for words, meaning in _VERIFY_FAILURES:
        if words in said:
            return meaning
    return cli.last_line(done.stdout, done.stderr) or f"cosign verify exited {done.returncode}"


def sign(cosign: Path, helm: Path, name: str, key: Path, plain_http: bool) -> bool:
    """Sign `name` (REGISTRY/PATH@DIGEST) with `key`, once: a signature by the same key that
    is already there (a rerun of a release) is left as it is. Whether it signed."""
    try:
        derived = public_key(cosign, key)
    except CommandError as error:
        last = cli.last_line(error.stdout, error.stderr)
        raise cli.Refused(f"--cosign-key {key}: cosign cannot read it: {last}") from None
    with tempfile.TemporaryDirectory(prefix="dfa-cosign-key-") as folder:
        public = Path(folder) / "cosign.pub"
        public.write_text(derived)
        if not verify_failure(cosign, helm, name, public, plain_http):
            return False
    with _env(helm) as env:
        run(
            [
                cosign,
                "sign",
                "--key",
                str(key),
                "--tlog-upload=false",
                "--yes",
                *_registry_flags(plain_http),
                name,
            ],
            env=env,
            timeout=TIMEOUT_S,
        )
    return True
