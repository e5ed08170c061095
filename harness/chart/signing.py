"""Keys made for one run: a GPG key in the legacy keyring format helm's provenance reads,
and a cosign key pair; for the demo's release to the local registry and for the tests. They
live in the folder given (under .tools/scratch or a test's tmp folder), never in the
repository."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.core.proc import run
from harness.core.tools import tool_path


def make_cosign_key(folder: Path, password: str = "") -> tuple[Path, Path]:
    """A cosign key pair made now in `folder`, which is made anew: (cosign.key, its secret
    half, locked with `password`; cosign.pub)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    folder.chmod(0o700)
    generate = [tool_path("cosign"), "generate-key-pair", "--output-key-prefix", "cosign"]
    run(generate, cwd=folder, env={**os.environ, "COSIGN_PASSWORD": password})
    return folder / "cosign.key", folder / "cosign.pub"


def make_key(home: Path, uid: str) -> tuple[Path, Path]:
    """A signing key made now in `home`, which is made anew: (its secret keyring, its public
    keyring). gpg starts an agent for the key's export; it is stopped before this returns,
    so no process outlives the call, and a later call for the same `home` starts clean."""
    if home.exists():
        _stop_agent(home)  # one that a killed run left behind would answer for a gone key
        shutil.rmtree(home)
    home.mkdir(parents=True)
    home.chmod(0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--passphrase", ""]
    try:
        run([*gpg, "--quick-gen-key", uid, "ed25519", "sign", "never"])
        secret, public = home / "secring.gpg", home / "public.gpg"
        run([*gpg, "--output", secret, "--export-secret-keys", uid])
        run([*gpg, "--output", public, "--export", uid])
    finally:
        _stop_agent(home)
    if not secret.stat().st_size:
        raise OSError(f"gpg exported no secret key for {uid} from {home}")
    return secret, public


def _stop_agent(home: Path) -> None:
    run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
