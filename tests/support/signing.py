"""GPG keys made for a test and charts signed, changed or left unsigned with them, as
helm's provenance checks meet them."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from harness.core.proc import run


def make_key(home: Path, uid: str) -> tuple[Path, Path]:
    """A signing key made now in `home`: (its secret keyring, its public keyring), in the
    legacy format helm reads. It never leaves the test's folder."""
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--passphrase", ""]
    run([*gpg, "--quick-gen-key", uid, "ed25519", "sign", "never"])
    secret, public = home / "secring.gpg", home / "public.gpg"
    run([*gpg, "--output", secret, "--export-secret-keys", uid])
    run([*gpg, "--output", public, "--export", uid])
    return secret, public


def change_after_signing(packaged: Path) -> None:
    """Add a comment to the packaged chart's values.yaml, in place; its .prov stays."""
    with tarfile.open(packaged) as archive:
        files = {}
        for member in archive.getmembers():
            content = archive.extractfile(member)
            files[member.name] = (member, content.read() if content else b"")
    name = next(n for n in files if n.endswith("/values.yaml") and n.count("/") == 1)
    member, data = files[name]
    files[name] = (member, data + b"\n# changed after signing\n")
    with tarfile.open(packaged, "w:gz") as archive:
        for member, data in files.values():
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
