"""Citrix ADC IKEv2 end to end: the real program and providers through the real Pulumi
CLI against the NITRO twin."""

from __future__ import annotations

import pytest

from tests.e2e.devices import F5, PASSWORD, Citrix, Decl, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "citrix"
ADC: Decl = {
    "name": "vpn-adc",
    "virtualAddress": "192.0.2.30",
    "nodes": nodes("198.51.100.31", "198.51.100.32"),
    "persistenceTimeout": 1800,
    "loadBalancingMethod": "round-robin",
}


def test_up_creates_the_ikev2_objects_and_a_second_up_writes_nothing(project: Project, adc: Citrix) -> None:
    adc.call("POST", "nsmode?action=disable", {"nsmode": {"mode": ["USNIP"]}})
    project.write_stack(STACK, [adc.cluster(ADC)], adc.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)

    assert adc.names("server") == {"vpn-adc_rras1", "vpn-adc_rras2"}
    for port in (500, 4500):
        sg = adc.get(f"servicegroup/vpn-adc_ikev2_{port}")[0]
        assert (sg["servicetype"], sg["usip"]) == ("UDP", "YES")
        assert sg["comment"] == f"aovpn-iac:aovpn/{STACK}"
        members = adc.get(f"servicegroup_servicegroupmember_binding/vpn-adc_ikev2_{port}")
        assert sorted((m["servername"], m["port"]) for m in members) == [
            ("vpn-adc_rras1", port),
            ("vpn-adc_rras2", port),
        ]
        monitors = adc.get(f"servicegroup_lbmonitor_binding/vpn-adc_ikev2_{port}")
        assert [m["monitor_name"] for m in monitors] == ["vpn-adc_ikev2_ping"]
        vs = adc.get(f"lbvserver/vpn-adc_ikev2_{port}_vs")[0]
        assert (vs["servicetype"], vs["ipv46"], vs["port"], vs["lbmethod"]) == (
            "UDP",
            "192.0.2.30",
            port,
            "ROUNDROBIN",
        )
        assert vs["groupname"] == "vpn-adc_ikev2_persist"
        assert [
            b["servicegroupname"] for b in adc.get(f"lbvserver_servicegroup_binding/vpn-adc_ikev2_{port}_vs")
        ] == [f"vpn-adc_ikev2_{port}"]
    group = adc.get("lbgroup/vpn-adc_ikev2_persist")[0]
    assert (group["persistencetype"], group["timeout"]) == ("SOURCEIP", "30")
    assert sorted(b["vservername"] for b in adc.get("lbgroup_lbvserver_binding/vpn-adc_ikev2_persist")) == [
        "vpn-adc_ikev2_4500_vs",
        "vpn-adc_ikev2_500_vs",
    ]
    monitor = adc.get("lbmonitor/vpn-adc_ikev2_ping?args=type:PING")[0]
    assert monitor["type"] == "PING"
    assert adc.get("nsmode")  # singleton object
    assert adc.call("GET", "nsmode").json()["nsmode"]["usnip"] is True
    state = adc.admin().state()
    assert state["unsaved_changes"] is False  # saved once at the end of the run
    assert PASSWORD not in str(project.checkpoint(STACK))

    seq = adc.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert adc.writes(seq) == []
    # and nothing survives only in memory
    adc.admin().reboot()
    assert adc.names("lbvserver") == {"vpn-adc_ikev2_500_vs", "vpn-adc_ikev2_4500_vs"}
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_drift_is_found_and_repaired(project: Project, adc: Citrix) -> None:
    assert adc.call(
        "PUT",
        "servicegroup/vpn-adc_ikev2_500",
        {"servicegroup": {"servicegroupname": "vpn-adc_ikev2_500", "usip": "NO"}},
    ).ok
    assert adc.call(
        "DELETE", "lbgroup_lbvserver_binding/vpn-adc_ikev2_persist?args=vservername:vpn-adc_ikev2_4500_vs"
    ).ok
    assert adc.call("POST", "nsmode?action=disable", {"nsmode": {"mode": "usnip"}}).ok
    assert adc.call(
        "DELETE",
        "servicegroup_servicegroupmember_binding/vpn-adc_ikev2_4500?args=servername:vpn-adc_rras2,port:4500",
    ).ok
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert drift.exit_code == 7, drift.output
    seq = adc.last_seq()
    assert adc.writes(seq) == []

    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    assert adc.get("servicegroup/vpn-adc_ikev2_500")[0]["usip"] == "YES"
    assert adc.get("lbvserver/vpn-adc_ikev2_4500_vs")[0]["groupname"] == "vpn-adc_ikev2_persist"
    assert adc.call("GET", "nsmode").json()["nsmode"]["usnip"] is True
    members = adc.get("servicegroup_servicegroupmember_binding/vpn-adc_ikev2_4500")
    assert sorted(m["servername"] for m in members) == ["vpn-adc_rras1", "vpn-adc_rras2"]
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_drain_disables_a_nodes_server_gracefully_and_enables_it_again(project: Project, adc: Citrix) -> None:
    """The drain operation the RRAS adapter uses on an ADC, from the component's drain targets."""
    from components.citrix import drain_targets
    from components.declaration import parse_clusters
    from providers.citrix.client import close_all
    from providers.common.device import SecretConfig
    from providers.common.drain import set_node_enabled

    (cluster,) = parse_clusters([adc.cluster(ADC)])
    spec = drain_targets(cluster)["rras1"]
    secrets = SecretConfig(adc.secrets())
    set_node_enabled(spec, False, secrets)
    assert adc.get("server/vpn-adc_rras1")[0]["state"] == "DISABLED"
    assert adc.get("server/vpn-adc_rras2")[0]["state"] == "ENABLED"
    set_node_enabled(spec, True, secrets)
    assert adc.get("server/vpn-adc_rras1")[0]["state"] == "ENABLED"
    close_all()
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_a_persistence_timeout_citrix_cannot_express_fails_preview_before_any_request(
    project: Project, adc: Citrix
) -> None:
    seq = adc.last_seq()
    project.write_stack("bad", [adc.cluster(ADC, persistenceTimeout=90)], adc.secrets())
    run = project.pulumi("preview", stack="bad")
    assert run.exit_code != 0
    assert "cluster 'vpn-adc': persistenceTimeout: 90 s" in run.output
    assert "Traceback" not in run.output
    assert adc.admin().log(since=seq) == []


def test_moving_a_cluster_from_f5_to_citrix_in_one_up(project: Project, adc: Citrix, f5: F5) -> None:
    # other node addresses: an ADC refuses a second server object for an address (1335)
    moved = {
        "name": "vpn-move",
        "virtualAddress": "192.0.2.40",
        "nodes": nodes("198.51.100.41", "198.51.100.42"),
    }
    project.write_stack("move", [f5.cluster(ADC, **moved)], f5.secrets() | adc.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack="move", check=True)
    assert f5.names("ltm/node") >= {"vpn-move_rras1", "vpn-move_rras2"}

    project.write_stack("move", [adc.cluster(ADC, **moved)], {})
    project.pulumi("up", "--yes", "--skip-preview", stack="move", check=True)
    assert not {n for n in f5.names("ltm/node") if n.startswith("vpn-move")}
    assert {"vpn-move_ikev2_500_vs", "vpn-move_ikev2_4500_vs"} <= adc.names("lbvserver")
    project.pulumi("destroy", "--yes", "--skip-preview", stack="move", check=True)


def test_removing_the_cluster_leaves_the_twin_as_it_was(project: Project, adc: Citrix) -> None:
    project.write_stack(STACK, [], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    running = adc.admin().state()["running"]
    assert running["lbvserver"] == {} and running["servicegroup"] == {} and running["lbgroup"] == {}
    assert running["members"] == [] and running["vs_sg"] == [] and running["group_vs"] == []
    assert set(running["lbmonitor"]) == {"ping", "tcp", "ping-default", "tcp-default"}
    # USNIP stays as this project found or left it: never disabled by a destroy
    assert adc.call("GET", "nsmode").json()["nsmode"]["usnip"] is True
    assert running["server"] == {}


def test_a_replaced_service_group_brings_its_bindings_back(project: Project, adc: Citrix) -> None:
    """The ADC drops a service group's bindings (members, monitor, vserver) with it: a replaced service
    group (forced with ``--replace``) replaces them in the same run, and the next ``up`` writes nothing."""
    stack = "citrix-replace"
    decl = adc.cluster(ADC, name="vpn-rep", virtualAddress="192.0.2.36")
    project.write_stack(stack, [decl], adc.secrets())
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
    members = adc.get("servicegroup_servicegroupmember_binding/vpn-rep_ikev2_500")
    assert sorted((m["servername"], m["port"]) for m in members) == [
        ("vpn-rep_rras1", 500),
        ("vpn-rep_rras2", 500),
    ]
    assert [b["monitor_name"] for b in adc.get("servicegroup_lbmonitor_binding/vpn-rep_ikev2_500")] == [
        "vpn-rep_ikev2_ping"
    ]
    assert [
        b["servicegroupname"] for b in adc.get("lbvserver_servicegroup_binding/vpn-rep_ikev2_500_vs")
    ] == ["vpn-rep_ikev2_500"]

    project.settled(stack, adc)
