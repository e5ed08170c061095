"""A GPG key made for one run, in the legacy keyring format helm's provenance reads: for
the demo's release to the local registry and for the tests. It lives in the folder given
(under .tools/scratch or a test's tmp folder), never in the repository."""

from __future__ import annotations

from pathlib import Path

from harness.core.proc import run


def make_key(home: Path, uid: str) -> tuple[Path, Path]:
    """A signing key made now in `home`: (its secret keyring, its public keyring)."""
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--passphrase", ""]
    run([*gpg, "--quick-gen-key", uid, "ed25519", "sign", "never"])
    secret, public = home / "secring.gpg", home / "public.gpg"
    run([*gpg, "--output", secret, "--export-secret-keys", uid])
    run([*gpg, "--output", public, "--export", uid])
    return secret, public
