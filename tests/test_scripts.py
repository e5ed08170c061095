"""The operator scripts: what they would run, and how they refuse bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from harness.chart.render import CI_VALUES_DIR, RenderError
from harness.core.tools import ROOT, tool_path
from harness.ops import deploy, image

IMAGE = "registry-qcc.quantil.com/oe-tools/dummy-flask-app"


def test_image_is_built_with_the_chart_app_version_by_default():
    [build] = image.build_commands(image.app_version())
    assert build[:2] == ["docker", "build"]
    assert f"{IMAGE}:1.5.0" in build
    assert "VERSION=1.5.0" in build
    assert build[-1] == str(ROOT)


def test_push_follows_the_build_with_the_same_tag():
    build, push = image.build_commands("1.6.0", push=True)
    assert f"{IMAGE}:1.6.0" in build
    assert push == ["docker", "push", f"{IMAGE}:1.6.0"]


def test_another_base_image_is_passed_as_a_build_argument():
    [build] = image.build_commands("1.5.0", base_image="local/python:3.11")
    assert "BASE_IMAGE=local/python:3.11" in build


@pytest.mark.parametrize("version", ["latest", "1.5", "v1.5.0", ""])
def test_image_version_must_be_semver(version):
    with pytest.raises(image.ImageError, match="--version"):
        image.build_commands(version)


def test_missing_docker_is_reported_by_name(tmp_path):
    with pytest.raises(image.ImageError, match="docker is not on PATH"):
        image.check_docker(path=str(tmp_path))


def test_push_without_a_registry_login_says_how_to_log_in(tmp_path):
    with pytest.raises(image.ImageError, match=r"docker login registry-qcc\.quantil\.com"):
        image.check_login("registry-qcc.quantil.com", {"DOCKER_CONFIG": str(tmp_path)})


def test_a_registry_login_satisfies_the_push_check(tmp_path):
    auths = {"auths": {"registry-qcc.quantil.com": {"auth": "eDp5"}}}
    (tmp_path / "config.json").write_text(json.dumps(auths))
    image.check_login("registry-qcc.quantil.com", {"DOCKER_CONFIG": str(tmp_path)})


def test_build_script_without_docker_fails_before_doing_anything(tmp_path):
    # A PATH holding only what the wrapper itself needs, so no docker can be found.
    for tool in ("bash", "dirname"):
        (tmp_path / tool).symlink_to(shutil.which(tool))
    done = subprocess.run(
        [shutil.which("bash"), ROOT / "scripts" / "build-image"],
        env={**os.environ, "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "docker is not on PATH" in done.stderr


def deploy_commands(**release):
    return deploy.commands(deploy.Release(**release), tool_path("helm"), tool_path("kubectl"))


def test_deploy_upgrades_with_wait_then_watches_the_deployment():
    upgrade, rollout = deploy_commands(set={"image.tag": "1.5.0"})
    assert upgrade[1:4] == ["upgrade", "dummy-flask-app", str(ROOT / "charts/dummy-flask-app")]
    assert {"--install", "--wait"} <= set(upgrade)
    assert "image.tag=1.5.0" in upgrade
    assert upgrade[upgrade.index("--namespace") + 1] == "opseng"
    assert rollout[-4:-2] == ["status", "deployment/dummy-flask-app"]


def test_deploy_watches_a_statefulset_when_the_values_render_one():
    values = CI_VALUES_DIR / "statefulset-ipool-values.yaml"
    upgrade, rollout = deploy_commands(values_files=(values,), namespace="staging")
    assert str(values) in upgrade
    assert rollout[-4:-2] == ["status", "statefulset/dummy-flask-app"]
    assert rollout[1:3] == ["--namespace", "staging"]


def test_deploy_refuses_bad_values_before_touching_the_cluster():
    with pytest.raises(RenderError, match="replicas"):
        deploy_commands(set={"replicas": "3"})
