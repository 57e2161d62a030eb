"""Citrix twin objects: duplicates, immutables, enums, monitors, enable/disable and unset (citrix.md)."""

from __future__ import annotations

from typing import Any

import requests

from tests.emulators.citrix.nitro import Nitro, done, ikev2, refused


def test_errors_duplicates_immutables_enums_and_shapes(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    assert "[name, rras1]" in refused(
        nitro("POST", "server", {"server": {"name": "rras1", "ipaddress": "10.0.0.99"}}), 409, 273
    )
    refused(nitro("POST", "server", {"server": {"name": "other", "ipaddress": "10.0.0.11"}}), 409, 1335)
    assert (
        refused(nitro("PUT", "lbvserver/vs500", {"lbvserver": {"name": "vs500", "port": 4500}}), 599, 278)
        == "Invalid argument [port]"
    )
    refused(
        nitro(
            "PUT", "servicegroup/sg500", {"servicegroup": {"servicegroupname": "sg500", "servicetype": "TCP"}}
        ),
        599,
        278,
    )
    refused(
        nitro("POST", "lbvserver", {"lbvserver": {"name": "x", "servicetype": "UDP", "lbmethod": "FASTEST"}}),
        400,
        1074,
    )
    refused(
        nitro("POST", "server", {"server": {"name": "s", "ipaddress": "10.0.0.5", "colour": "blue"}}),
        599,
        278,
    )
    binding = {"servicegroupname": "sg500", "servername": "rras1", "port": 500}
    msg = refused(
        nitro(
            "PUT",
            "servicegroup_servicegroupmember_binding",
            {"servicegroup_servicegroupmember_binding": binding},
        ),
        409,
        273,
    )
    assert msg == "Resource already exists"  # no bracket for bindings
    both = {**binding, "ip": "10.0.0.11", "port": 4500}
    refused(
        nitro(
            "PUT",
            "servicegroup_servicegroupmember_binding",
            {"servicegroup_servicegroupmember_binding": both},
        ),
        400,
        1092,
    )
    weighted = {"name": "vs500", "servicegroupname": "sg500", "weight": 2}
    refused(
        nitro("PUT", "lbvserver_servicegroup_binding", {"lbvserver_servicegroup_binding": weighted}),
        400,
        1093,
    )
    # idempotent add updates in place
    done(
        nitro(
            "POST",
            "lbvserver?idempotent=yes",
            {"lbvserver": {"name": "vs500", "servicetype": "UDP", "lbmethod": "ROUNDROBIN"}},
        ),
        201,
    )
    assert done(nitro("GET", "lbvserver/vs500"))["lbvserver"][0]["lbmethod"] == "ROUNDROBIN"


def test_monitor_identity_units_bindings_and_defaults(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    refused(
        nitro(
            "POST",
            "lbmonitor",
            {"lbmonitor": {"monitorname": "m", "type": "PING", "interval": 2, "resptimeout": 2}},
        ),
        599,
        2128,
    )
    done(nitro("POST", "lbmonitor", {"lbmonitor": {"monitorname": "m", "type": "ping", "interval": 60}}), 201)
    monitor = done(nitro("GET", "lbmonitor/m?args=type:PING"))["lbmonitor"][0]
    assert (monitor["interval"], monitor["units3"], monitor["type"]) == (1, "MIN", "PING")
    done(
        nitro(
            "PUT",
            "servicegroup_lbmonitor_binding",
            {"servicegroup_lbmonitor_binding": {"servicegroupname": "sg500", "monitor_name": "m"}},
        )
    )
    refused(
        nitro(
            "PUT",
            "servicegroup_lbmonitor_binding",
            {"servicegroup_lbmonitor_binding": {"servicegroupname": "sg500", "monitor_name": "m"}},
        ),
        599,
        2133,
    )
    reverse = done(nitro("GET", "lbmonitor_servicegroup_binding/m"))["lbmonitor_servicegroup_binding"]
    assert reverse == [{"monitorname": "m", "servicegroupname": "sg500", "weight": "1"}]
    refused(nitro("DELETE", "lbmonitor/m?args=type:TCP"), 599, 2155)
    refused(nitro("DELETE", "lbmonitor/m?args=type:PING"), 599, 2131)
    refused(nitro("DELETE", "lbmonitor/ping?args=type:PING"), 599, 2132)
    refused(
        nitro(
            "PUT",
            "servicegroup_lbmonitor_binding",
            {"servicegroup_lbmonitor_binding": {"servicegroupname": "sg500", "monitor_name": "ping-default"}},
        ),
        599,
        2165,
    )
    done(nitro("DELETE", "servicegroup_lbmonitor_binding/sg500?args=monitor_name:m"))
    done(nitro("DELETE", "lbmonitor/m?args=type:PING"))


def test_enable_disable_and_unset(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    done(nitro("POST", "lbvserver?action=disable", {"lbvserver": {"name": "vs500"}}))
    vs = done(nitro("GET", "lbvserver/vs500"))["lbvserver"][0]
    assert (vs["state"], vs["curstate"], vs["effectivestate"]) == (
        "DISABLED",
        "OUT OF SERVICE",
        "OUT OF SERVICE",
    )
    done(nitro("POST", "lbvserver?action=enable", {"lbvserver": {"name": "vs500"}}))
    assert done(nitro("GET", "lbvserver/vs500"))["lbvserver"][0]["curstate"] != "OUT OF SERVICE"
    refused(nitro("POST", "lbvserver?action=disable", {"lbvserver": {"name": "ghost"}}), 404, 258)
    done(nitro("POST", "server?action=disable", {"server": {"name": "rras1"}}))
    assert done(nitro("GET", "server/rras1"))["server"][0]["state"] == "DISABLED"
    # one member out of service
    done(
        nitro(
            "POST",
            "servicegroup?action=disable",
            {"servicegroup": {"servicegroupname": "sg500", "servername": "rras1", "port": 500}},
        )
    )
    member = done(nitro("GET", "servicegroup_servicegroupmember_binding/sg500"))[
        "servicegroup_servicegroupmember_binding"
    ][0]
    assert member["state"] == "DISABLED"
    # unset: back to the default; what cannot change cannot be unset either
    done(
        nitro(
            "PUT",
            "lbvserver/vs500",
            {"lbvserver": {"name": "vs500", "lbmethod": "ROUNDROBIN", "comment": "IKEv2"}},
        )
    )
    done(
        nitro(
            "POST",
            "lbvserver?action=unset",
            {"lbvserver": {"name": "vs500", "lbmethod": True, "comment": True}},
        )
    )
    vs = done(nitro("GET", "lbvserver/vs500"))["lbvserver"][0]
    assert vs["lbmethod"] == "LEASTCONNECTION" and "comment" not in vs
    assert (
        refused(
            nitro("POST", "lbvserver?action=unset", {"lbvserver": {"name": "vs500", "port": True}}), 599, 278
        )
        == "Invalid argument [port]"
    )


def vserver(
    nitro: Nitro, name: str, servicetype: str, ipv46: str | None, port: int, query: str = "", **more: Any
) -> requests.Response:
    body: dict[str, Any] = {"name": name, "servicetype": servicetype, "port": port, **more}
    if ipv46 is not None:
        body["ipv46"] = ipv46
    return nitro("POST", f"lbvserver{query}", {"lbvserver": body})


def test_a_second_vserver_on_a_taken_ip_port_and_transport_is_refused(adc):
    nitro = Nitro(adc)
    ikev2(nitro)  # vs500: UDP 192.0.2.10:500
    # NITRO answers 409/273 without a bracket: no object of that name exists, the listener does
    for servicetype in ("UDP", "DNS", "ANY"):
        message = refused(vserver(nitro, "vs_dup", servicetype, "192.0.2.10", 500), 409, 273)
        assert message == "Resource already exists"
    refused(nitro("GET", "lbvserver/vs_dup"), 404, 258)  # nothing was created
    # the same address however it is spelt
    done(vserver(nitro, "vs6", "UDP", "2001:db8::10", 500), 201)
    refused(vserver(nitro, "vs6_dup", "UDP", "2001:db8:0:0::10", 500), 409, 273)
    # another port, another address, another transport (TCP beside UDP) or traffic domain: no clash
    done(vserver(nitro, "vs4500", "UDP", "192.0.2.10", 4500), 201)
    done(vserver(nitro, "vs500_other_ip", "UDP", "192.0.2.11", 500), 201)
    done(vserver(nitro, "vs500_tcp", "TCP", "192.0.2.10", 500), 201)
    done(vserver(nitro, "vs500_td1", "UDP", "192.0.2.10", 500, td="1"), 201)
    # TCP-family service types share one listener: SSL beside TCP on :500 is refused
    refused(vserver(nitro, "vs500_ssl", "SSL", "192.0.2.10", 500), 409, 273)
    # non-addressable vservers take no listener
    done(vserver(nitro, "na1", "HTTP", None, 0), 201)
    done(vserver(nitro, "na2", "HTTP", None, 0), 201)
    # moving a vserver onto a taken listener is refused too, and leaves it where it was
    done(vserver(nitro, "vs_b", "UDP", "192.0.2.20", 4500), 201)
    move = {"lbvserver": {"name": "vs_b", "ipv46": "192.0.2.10"}}
    assert refused(nitro("PUT", "lbvserver/vs_b", move), 409, 273) == "Resource already exists"
    assert done(nitro("GET", "lbvserver/vs_b"))["lbvserver"][0]["ipv46"] == "192.0.2.20"
    # ...and in a bulk add only the entry that clashes answers 273
    pair = [
        {"name": "vs_c", "servicetype": "UDP", "ipv46": "192.0.2.30", "port": 500},
        {"name": "vs_c_dup", "servicetype": "UDP", "ipv46": "192.0.2.30", "port": 500},
    ]
    resp = nitro("POST", "lbvserver", {"lbvserver": pair})
    assert resp.status_code == 207 and [r["errorcode"] for r in resp.json()["response"]] == [0, 273]
    done(nitro("GET", "lbvserver/vs_c"))
    refused(nitro("GET", "lbvserver/vs_c_dup"), 404, 258)


def test_idempotent_re_add_of_a_vserver_still_updates_it_in_place(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    # the same vserver with the same parameters: an idempotent add is Done, a plain add names the vserver
    done(vserver(nitro, "vs500", "UDP", "192.0.2.10", 500, "?idempotent=yes"), 201)
    assert "[name, vs500]" in refused(vserver(nitro, "vs500", "UDP", "192.0.2.10", 500), 409, 273)
    # an idempotent add that changes something updates in place; its own listener is no clash
    done(vserver(nitro, "vs500", "UDP", "192.0.2.10", 500, "?idempotent=yes", lbmethod="ROUNDROBIN"), 201)
    shown = done(nitro("GET", "lbvserver/vs500"))["lbvserver"][0]
    assert (shown["ipv46"], shown["port"], shown["lbmethod"]) == ("192.0.2.10", 500, "ROUNDROBIN")
    # an idempotent add under another name on the taken listener is still refused
    refused(vserver(nitro, "vs500_again", "UDP", "192.0.2.10", 500, "?idempotent=yes"), 409, 273)
