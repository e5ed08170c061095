"""The local cluster's address plan and node groups: what every node's configuration is
derived from, checked without starting anything."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from harness.cluster import addresses, groups
from harness.cluster.local import LocalCluster


def test_every_node_address_and_pod_range_lies_in_the_cluster_network_and_none_overlap():
    cluster = ipaddress.ip_network(addresses.CLUSTER_CIDR)
    ranges = [ipaddress.ip_network(addresses.pod_cidr(i)) for i in range(1, 6)]
    ips = [ipaddress.ip_address(addresses.node_ip(i)) for i in range(1, 6)]

    assert all(r.subnet_of(cluster) for r in ranges)
    assert all(ip in cluster for ip in ips)
    assert not any(a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    assert not any(ip in r for ip in ips for r in ranges), "node addresses are apart from pods'"
    assert not cluster.overlaps(ipaddress.ip_network(addresses.SERVICE_CIDR))


@pytest.mark.parametrize("index", [0, 255])
def test_a_node_index_out_of_the_plan_is_refused_by_name(index: int):
    with pytest.raises(ValueError, match=f"a node's index is 1 to 254, not {index}"):
        addresses.pod_cidr(index)


def test_a_worker_has_its_own_address_pod_range_namespaces_and_state(tmp_path: Path):
    cluster = LocalCluster(scratch=tmp_path)
    first, second = cluster.node, cluster.worker(2, group="pair")

    assert second.namespaces.node_ip == "198.18.0.2" != first.namespaces.node_ip
    assert second.pod_cidr == "198.18.2.0/24" != first.pod_cidr
    assert second.namespaces.state != first.namespaces.state
    assert second.state != first.state and second.cgroup_root != first.cgroup_root
    assert first.serves_cluster and not second.serves_cluster
    assert second.kubelet_config()["address"] == "198.18.0.2"
    assert second.cni_config()["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "198.18.2.0/24"}]]


def test_the_first_node_cannot_be_asked_for_as_a_worker(tmp_path: Path):
    with pytest.raises(ValueError, match="workers are 2 and up, not 1"):
        LocalCluster(scratch=tmp_path).worker(1)


def test_a_groups_nodes_are_labelled_and_tainted_and_its_namespaces_select_and_tolerate_them():
    flags = groups.kubelet_flags("pair")
    annotations = groups.namespace_annotations("pair")

    assert "--node-labels=dfa.local/group=pair" in flags
    assert "--register-with-taints=dfa.local/group=pair:NoSchedule" in flags
    assert annotations["scheduler.alpha.kubernetes.io/node-selector"] == "dfa.local/group=pair"
    [toleration] = json.loads(annotations["scheduler.alpha.kubernetes.io/defaultTolerations"])
    assert toleration == {
        "key": "dfa.local/group",
        "operator": "Equal",
        "value": "pair",
        "effect": "NoSchedule",
    }


def test_the_api_server_admits_pods_through_the_plugins_that_read_those_annotations():
    patches = LocalCluster().config(6443)["componentsPatches"]
    [apiserver] = [p for p in patches if p["name"] == "kube-apiserver"]
    args = {arg["key"]: arg["value"] for arg in apiserver["extraArgs"]}

    assert set(args["enable-admission-plugins"].split(",")) == set(groups.ADMISSION_PLUGINS)


def test_the_controller_manager_notices_a_dead_node_as_kubernetes_does_by_default():
    patches = LocalCluster().config(6443)["componentsPatches"]
    [manager] = [p for p in patches if p["name"] == "kube-controller-manager"]
    args = {arg["key"]: arg["value"] for arg in manager["extraArgs"]}

    assert (args["node-monitor-period"], args["node-monitor-grace-period"]) == ("5s", "50s")


def test_a_policy_node_runs_kube_routers_firewall_alone_as_itself_with_the_service_range(
    tmp_path: Path,
):
    node = LocalCluster(scratch=tmp_path).worker(4, group="netpol", network_policy=True)
    flags = dict(flag.removeprefix("--").split("=", 1) for flag in node.kube_router_flags())

    assert flags["run-firewall"] == "true"
    assert flags["run-router"] == flags["run-service-proxy"] == flags["enable-cni"] == "false"
    assert flags["health-port"] == flags["metrics-port"] == "0", "no listener of its own"
    assert flags["hostname-override"] == node.name == "dfa-node-4"
    assert flags["service-cluster-ip-range"] == addresses.SERVICE_CIDR
    assert flags["kubeconfig"] == str(node.kubeconfig)
