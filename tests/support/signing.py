"""A signed chart changed after signing, as helm's provenance check meets it (keys:
harness.chart.signing)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


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
