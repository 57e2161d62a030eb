"""Citrix ADC IKEv2 end to end: the real program and providers through the real Pulumi
CLI against the NITRO twin."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

USER, PASSWORD = "automation", "automation-pass"
F5_USER, F5_PASSWORD = "automation", "automation-pass"
STACK = "citrix"


class Adc:
    """Looks at the twin through NITRO, as a person at the appliance would (header authentication)."""

    def __init__(self, twin: Any) -> None:
        self.twin = twin
        self.verify = str(twin.tls.ca_path)

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            f"{self.twin.url}/nitro/v1/config/{path}",
            json=body,
            headers={"X-NITRO-USER": USER, "X-NITRO-PASS": PASSWORD},
            verify=self.verify,
            timeout=30,
        )

    def get(self, path: str) -> list[dict[str, Any]]:
        resp = self.call("GET", path)
        if resp.status_code == 404:
            return []
        assert resp.status_code == 200, resp.text
        resource = path.split("/", 1)[0].split("?", 1)[0]
        found: list[dict[str, Any]] = resp.json().get(resource, [])
        return found

    def names(self, resource: str) -> set[str]:
        key = {"servicegroup": "servicegroupname", "lbmonitor": "monitorname"}.get(resource, "name")
        return {str(o[key]) for o in self.get(resource)}

    def everything(self) -> dict[str, Any]:
        state = self.twin.admin().state()["running"]
        return {k: v for k, v in state.items()}


def cluster_decl(twin: Any, **changes: Any) -> dict[str, Any]:
    decl: dict[str, Any] = {
        "name": "vpn-adc",
        "protocols": ["ikev2"],
        "virtualAddress": "192.0.2.30",
        "nodes": [
            {"name": "rras1", "address": "198.51.100.31"},
            {"name": "rras2", "address": "198.51.100.32"},
        ],
        "loadBalancer": {
            "kind": "citrix",
            "url": twin.url,
            "user": USER,
            "passwordSecret": "adcPassword",
            "caBundle": str(twin.tls.ca_path),
        },
        "persistenceTimeout": 1800,
        "loadBalancingMethod": "round-robin",
    }
    decl.update(copy.deepcopy(changes))
    return decl


@pytest.fixture(scope="module")
def adc(tls):
    from emulators.common import start_twin

    twin = start_twin("citrix", tls=tls)
    yield twin
    twin.stop()


@pytest.fixture(scope="module")
def f5(tls):
    from emulators.common import start_twin

    twin = start_twin("f5", tls=tls)
    yield twin
    twin.stop()


def writes(twin: Any, since: int) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in twin.admin().log(since=since) if e.get("write")]


def last_seq(twin: Any) -> int:
    log = twin.admin().log()
    return log[-1]["seq"] if log else 0


def test_up_creates_the_ikev2_objects_and_a_second_up_writes_nothing(project: Project, adc: Any) -> None:
    nitro = Adc(adc)
    factory = nitro.everything()
    nitro.call("POST", "nsmode?action=disable", {"nsmode": {"mode": ["USNIP"]}})
    project.write_stack(STACK, [cluster_decl(adc)], {"adcPassword": PASSWORD})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)

    assert nitro.names("server") == {"vpn-adc_rras1", "vpn-adc_rras2"}
    for port in (500, 4500):
        sg = nitro.get(f"servicegroup/vpn-adc_ikev2_{port}")[0]
        assert (sg["servicetype"], sg["usip"]) == ("UDP", "YES")
        assert sg["comment"] == f"aovpn-iac:aovpn/{STACK}"
        members = nitro.get(f"servicegroup_servicegroupmember_binding/vpn-adc_ikev2_{port}")
        assert sorted((m["servername"], m["port"]) for m in members) == [
            ("vpn-adc_rras1", port),
            ("vpn-adc_rras2", port),
        ]
        monitors = nitro.get(f"servicegroup_lbmonitor_binding/vpn-adc_ikev2_{port}")
        assert [m["monitor_name"] for m in monitors] == ["vpn-adc_ikev2_ping"]
        vs = nitro.get(f"lbvserver/vpn-adc_ikev2_{port}_vs")[0]
        assert (vs["servicetype"], vs["ipv46"], vs["port"], vs["lbmethod"]) == (
            "UDP",
            "192.0.2.30",
            port,
            "ROUNDROBIN",
        )
        assert vs["groupname"] == "vpn-adc_ikev2_persist"
        assert [
            b["servicegroupname"]
            for b in nitro.get(f"lbvserver_servicegroup_binding/vpn-adc_ikev2_{port}_vs")
        ] == [f"vpn-adc_ikev2_{port}"]
    group = nitro.get("lbgroup/vpn-adc_ikev2_persist")[0]
    assert (group["persistencetype"], group["timeout"]) == ("SOURCEIP", "30")
    assert sorted(b["vservername"] for b in nitro.get("lbgroup_lbvserver_binding/vpn-adc_ikev2_persist")) == [
        "vpn-adc_ikev2_4500_vs",
        "vpn-adc_ikev2_500_vs",
    ]
    monitor = nitro.get("lbmonitor/vpn-adc_ikev2_ping?args=type:PING")[0]
    assert monitor["type"] == "PING"
    assert nitro.get("nsmode")  # singleton object
    assert nitro.call("GET", "nsmode").json()["nsmode"]["usnip"] is True
    state = adc.admin().state()
    assert state["unsaved_changes"] is False  # saved once at the end of the run
    assert PASSWORD not in str(project.checkpoint(STACK))

    seq = last_seq(adc)
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert writes(adc, seq) == []
    # and nothing survives only in memory
    adc.admin().reboot()
    assert nitro.names("lbvserver") == {"vpn-adc_ikev2_500_vs", "vpn-adc_ikev2_4500_vs"}
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0
    del factory


def test_drift_is_found_and_repaired(project: Project, adc: Any) -> None:
    nitro = Adc(adc)
    assert nitro.call(
        "PUT",
        "servicegroup/vpn-adc_ikev2_500",
        {"servicegroup": {"servicegroupname": "vpn-adc_ikev2_500", "usip": "NO"}},
    ).ok
    assert nitro.call(
        "DELETE", "lbgroup_lbvserver_binding/vpn-adc_ikev2_persist?args=vservername:vpn-adc_ikev2_4500_vs"
    ).ok
    assert nitro.call("POST", "nsmode?action=disable", {"nsmode": {"mode": "usnip"}}).ok
    assert nitro.call(
        "DELETE",
        "servicegroup_servicegroupmember_binding/vpn-adc_ikev2_4500?args=servername:vpn-adc_rras2,port:4500",
    ).ok
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert drift.exit_code == 7, drift.output
    seq = last_seq(adc)
    assert writes(adc, seq) == []

    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    assert nitro.get("servicegroup/vpn-adc_ikev2_500")[0]["usip"] == "YES"
    assert nitro.get("lbvserver/vpn-adc_ikev2_4500_vs")[0]["groupname"] == "vpn-adc_ikev2_persist"
    assert nitro.call("GET", "nsmode").json()["nsmode"]["usnip"] is True
    members = nitro.get("servicegroup_servicegroupmember_binding/vpn-adc_ikev2_4500")
    assert sorted(m["servername"] for m in members) == ["vpn-adc_rras1", "vpn-adc_rras2"]
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_drain_disables_a_nodes_server_gracefully_and_enables_it_again(project: Project, adc: Any) -> None:
    """The drain operation the RRAS adapter uses on an ADC, from the component's drain targets."""
    from components.citrix import drain_targets
    from components.declaration import parse_clusters
    from providers.citrix.client import close_all
    from providers.common.device import SecretConfig
    from providers.common.drain import set_node_enabled

    nitro = Adc(adc)
    (cluster,) = parse_clusters([cluster_decl(adc)])
    spec = drain_targets(cluster)["rras1"]
    secrets = SecretConfig({"adcPassword": PASSWORD})
    set_node_enabled(spec, False, secrets)
    assert nitro.get("server/vpn-adc_rras1")[0]["state"] == "DISABLED"
    assert nitro.get("server/vpn-adc_rras2")[0]["state"] == "ENABLED"
    set_node_enabled(spec, True, secrets)
    assert nitro.get("server/vpn-adc_rras1")[0]["state"] == "ENABLED"
    close_all()
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_a_persistence_timeout_citrix_cannot_express_fails_preview_before_any_request(
    project: Project, adc: Any
) -> None:
    seq = last_seq(adc)
    project.write_stack("bad", [cluster_decl(adc, persistenceTimeout=90)], {"adcPassword": PASSWORD})
    run = project.pulumi("preview", stack="bad")
    assert run.exit_code != 0
    assert "cluster 'vpn-adc': persistenceTimeout: 90 s" in run.output
    assert "Traceback" not in run.output
    assert adc.admin().log(since=seq) == []


def test_moving_a_cluster_from_f5_to_citrix_in_one_up(project: Project, adc: Any, f5: Any) -> None:
    nitro = Adc(adc)
    # other node addresses: an ADC refuses a second server object for an address (1335)
    nodes = [{"name": "rras1", "address": "198.51.100.41"}, {"name": "rras2", "address": "198.51.100.42"}]
    f5_decl = cluster_decl(adc, name="vpn-move", virtualAddress="192.0.2.40", nodes=nodes)
    f5_decl["loadBalancer"] = {
        "kind": "f5",
        "url": f5.url,
        "user": F5_USER,
        "passwordSecret": "f5Password",
        "caBundle": str(f5.tls.ca_path),
    }
    project.write_stack("move", [f5_decl], {"f5Password": F5_PASSWORD, "adcPassword": PASSWORD})
    project.pulumi("up", "--yes", "--skip-preview", stack="move", check=True)
    f5_nodes = requests.get(
        f"{f5.url}/mgmt/tm/ltm/node", auth=(F5_USER, F5_PASSWORD), verify=str(f5.tls.ca_path), timeout=30
    ).json()
    assert {n["name"] for n in f5_nodes["items"]} >= {"vpn-move_rras1", "vpn-move_rras2"}

    project.write_stack(
        "move", [cluster_decl(adc, name="vpn-move", virtualAddress="192.0.2.40", nodes=nodes)], {}
    )
    project.pulumi("up", "--yes", "--skip-preview", stack="move", check=True)
    f5_nodes = requests.get(
        f"{f5.url}/mgmt/tm/ltm/node", auth=(F5_USER, F5_PASSWORD), verify=str(f5.tls.ca_path), timeout=30
    ).json()
    assert not {n["name"] for n in f5_nodes.get("items", []) if n["name"].startswith("vpn-move")}
    assert {"vpn-move_ikev2_500_vs", "vpn-move_ikev2_4500_vs"} <= nitro.names("lbvserver")
    project.pulumi("destroy", "--yes", "--skip-preview", stack="move", check=True)


def test_removing_the_cluster_leaves_the_twin_as_it_was(project: Project, adc: Any) -> None:
    nitro = Adc(adc)
    project.write_stack(STACK, [], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    running = adc.admin().state()["running"]
    assert running["lbvserver"] == {} and running["servicegroup"] == {} and running["lbgroup"] == {}
    assert running["members"] == [] and running["vs_sg"] == [] and running["group_vs"] == []
    assert set(running["lbmonitor"]) == {"ping", "tcp", "ping-default", "tcp-default"}
    # USNIP stays as this project found or left it: never disabled by a destroy
    assert nitro.call("GET", "nsmode").json()["nsmode"]["usnip"] is True
    assert running["server"] == {}


def test_a_replaced_service_group_brings_its_bindings_back(project: Project, adc: Any) -> None:
    """The ADC drops a service group's bindings (members, monitor, vserver) with it: a replaced service
    group (forced with ``--replace``) replaces them in the same run, and the next ``up`` writes nothing."""
    nitro = Adc(adc)
    stack = "citrix-replace"
    decl = cluster_decl(adc, name="vpn-rep", virtualAddress="192.0.2.36")
    project.write_stack(stack, [decl], {"adcPassword": PASSWORD})
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)

    project.replace(
        stack,
        "vpn-rep-servicegroup-ikev2-500",
        [
            "vpn-rep-member-ikev2-500-rras1",
            "vpn-rep-member-ikev2-500-rras2",
            "vpn-rep-monitor-binding-ikev2-500",
            "vpn-rep-vserver-binding-ikev2-500",
        ],
    )
    members = nitro.get("servicegroup_servicegroupmember_binding/vpn-rep_ikev2_500")
    assert sorted((m["servername"], m["port"]) for m in members) == [
        ("vpn-rep_rras1", 500),
        ("vpn-rep_rras2", 500),
    ]
    assert [b["monitor_name"] for b in nitro.get("servicegroup_lbmonitor_binding/vpn-rep_ikev2_500")] == [
        "vpn-rep_ikev2_ping"
    ]
    assert [
        b["servicegroupname"] for b in nitro.get("lbvserver_servicegroup_binding/vpn-rep_ikev2_500_vs")
    ] == ["vpn-rep_ikev2_500"]

    project.settled(stack, adc, last_seq(adc), writes)
