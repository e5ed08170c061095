"""scripts/release-chart's checks, before anything is packaged or pushed: each refusal names
the file or option and what to do (the e2e suite pushes to a real registry:
tests/e2e/test_chart_release.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.chart.render import CHART_DIR
from harness.ops import cli
from harness.ops.release_chart import (
    Release,
    check_app_version,
    check_bumped,
    check_changelog,
    check_committed,
    check_key,
    version_key,
)


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    """A copy of the chart, committed in a git repository of its own."""
    copy = tmp_path / "repo" / "dummy-flask-app"
    shutil.copytree(CHART_DIR, copy)
    git = ["git", "-C", str(copy.parent), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "chart"], check=True)
    return copy


@pytest.mark.parametrize(
    "older, newer",
    [
        ("0.8.0", "0.8.1"),
        ("0.8.9", "0.9.0"),
        ("0.9.0", "1.0.0"),
        ("1.0.0-rc.1", "1.0.0"),
        ("1.0.0-rc.2", "1.0.0-rc.10"),
        ("1.0.0-alpha", "1.0.0-alpha.1"),
        ("1.0.0-1", "1.0.0-a"),
    ],
)
def test_versions_order_as_semver_says(older: str, newer: str):
    assert version_key(older) < version_key(newer)


def test_a_version_that_is_not_semver_is_refused_by_name():
    with pytest.raises(cli.Refused, match=re.escape("version '0.8' is not a SemVer version")):
        version_key("0.8")


@pytest.mark.parametrize("version", ["0.8.0", "0.7.9", "0.8.0-rc.1"])
def test_a_version_not_above_the_last_release_is_refused(version: str):
    with pytest.raises(cli.Refused, match=f"version {version} is not above 0.8.0"):
        check_bumped(version, "0.8.0")


def test_a_bumped_version_and_a_first_release_pass():
    check_bumped("0.8.1", "0.8.0")
    check_bumped("0.1.0", None)


def test_a_committed_chart_passes_and_a_changed_or_new_file_is_refused_by_name(chart: Path):
    check_committed(chart)
    (chart / "values.yaml").write_text((chart / "values.yaml").read_text() + "\n# edit\n")
    (chart / "extra.txt").write_text("new")
    with pytest.raises(cli.Refused, match=r"not committed \(.*values\.yaml.*extra\.txt"):
        check_committed(chart)


def test_the_chart_as_it_is_names_its_app_version_as_its_image():
    check_app_version(CHART_DIR)


def test_an_image_tag_other_than_app_version_is_refused(chart: Path):
    values = yaml.safe_load((chart / "values.yaml").read_text())
    values["image"]["tag"] = "1.4.0"
    (chart / "values.yaml").write_text(yaml.safe_dump(values))
    with pytest.raises(cli.Refused, match=re.escape("image.tag '1.4.0' is not appVersion '1.5.0'")):
        check_app_version(chart)


def test_an_images_annotation_behind_app_version_is_refused(chart: Path):
    metadata = yaml.safe_load((chart / "Chart.yaml").read_text())
    metadata["appVersion"] = "1.6.0"
    (chart / "Chart.yaml").write_text(yaml.safe_dump(metadata))
    with pytest.raises(
        cli.Refused, match=r"artifacthub\.io/images annotation must name .*:1\.6\.0"
    ):
        check_app_version(chart)


def test_a_missing_keyring_is_refused_with_the_export_command(tmp_path: Path):
    release = Release(CHART_DIR, "oci://h/p", "ops@example.invalid", tmp_path / "none.gpg")
    with pytest.raises(
        cli.Refused, match=re.escape("gpg --export-secret-keys ops@example.invalid")
    ):
        check_key(release)


def test_a_missing_cosign_key_is_refused_with_the_command_that_makes_one(tmp_path: Path):
    keyring = tmp_path / "secring.gpg"
    keyring.write_bytes(b"a keyring")
    release = Release(CHART_DIR, "oci://h/p", "ops", keyring, cosign_key=tmp_path / "cosign.key")
    with pytest.raises(cli.Refused, match=re.escape("is not a file; make a key pair with")):
        check_key(release)


def test_a_cosign_key_without_its_password_in_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    keyring, key = tmp_path / "secring.gpg", tmp_path / "cosign.key"
    keyring.write_bytes(b"a keyring")
    key.write_text("a key")
    release = Release(CHART_DIR, "oci://h/p", "ops", keyring, cosign_key=key)
    with pytest.raises(cli.Refused, match="set COSIGN_PASSWORD to the key's password"):
        check_key(release)
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    check_key(release)


def test_a_version_the_changelog_has_no_entry_for_is_refused_saying_what_to_add(chart: Path):
    check_changelog(chart, yaml.safe_load((chart / "Chart.yaml").read_text())["version"])
    with pytest.raises(
        cli.Refused, match=re.escape("no entry for version 9.9.9: add a `## 9.9.9`")
    ):
        check_changelog(chart, "9.9.9")
