"""How the control plane is built: the generated wrapper modules and the installed versions."""

from __future__ import annotations

import pytest

from harness.toolchain import controlplane
from harness.toolchain.controlplane import (
    ETCD,
    KUBE_ROUTER,
    KUBERNETES,
    staging_replaces,
    wrapper_gomod,
)

KUBERNETES_GOMOD = """\
module k8s.io/kubernetes

require (
\tk8s.io/api v0.0.0
\tgithub.com/spf13/cobra v1.10.2
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tgithub.com/example/fork => github.com/example/fork v1.2.3
)
"""


def test_staging_replaces_are_taken_from_kubernetes_own_go_mod():
    assert staging_replaces(KUBERNETES_GOMOD, "v0.37.2") == [
        ("k8s.io/api", "v0.37.2"),
        ("k8s.io/client-go", "v0.37.2"),
    ]


def test_the_wrapper_module_requires_the_release_and_pins_each_staging_module():
    gomod = wrapper_gomod(KUBERNETES, [("k8s.io/api", "v0.37.2")])

    assert f"require k8s.io/kubernetes {controlplane.KUBE_VERSION}\n" in gomod
    assert "\tk8s.io/api => k8s.io/api v0.37.2\n" in gomod
    assert "\ngo 1.26.0\n" in gomod


def test_the_etcd_wrapper_needs_no_replace_lines():
    gomod = wrapper_gomod(ETCD, [])

    assert f"require go.etcd.io/etcd/server/v3 {controlplane.ETCD_VERSION}\n" in gomod
    assert "replace" not in gomod


def test_the_kube_router_wrapper_requires_each_raised_dependency_at_its_raised_version():
    gomod = wrapper_gomod(KUBE_ROUTER, [])

    assert f"require {KUBE_ROUTER.module} {KUBE_ROUTER.version}\n" in gomod
    for module, version in KUBE_ROUTER.raised:
        assert f"\t{module} {version}\n" in gomod
    assert "golang.org/x/net" in dict(KUBE_ROUTER.raised)
    assert "replace" not in gomod


def test_kubernetes_is_built_with_the_version_that_slash_version_reports():
    flags = KUBERNETES.ldflags.split()

    assert f"k8s.io/component-base/version.gitVersion={controlplane.KUBE_VERSION}" in flags
    assert "k8s.io/component-base/version.gitMajor=1" in flags
    minor = controlplane.KUBE_VERSION.split(".")[1]
    assert f"k8s.io/component-base/version.gitMinor={minor}" in flags


@pytest.mark.parametrize(("name", "version"), controlplane.pinned().items())
def test_every_control_plane_binary_is_installed_at_its_pinned_version(name: str, version: str):
    assert controlplane.installed_version(name) == version, "run `make setup`"
