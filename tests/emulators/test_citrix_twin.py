"""The Citrix twin behaves like a NITRO API: the fidelity traps of reference/citrix.md."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from emulators.common import start_twin

USER, PASSWORD = "automation", "automation-pass"


@pytest.fixture
def adc(tls):
    twin = start_twin("citrix", tls=tls)
    yield twin
    twin.stop()


class Nitro:
    def __init__(self, twin: Any, headers: dict[str, str] | None = None) -> None:
        self.url = f"{twin.url}/nitro/v1/config"
        self.verify = str(twin.tls.ca_path)
        self.headers = headers if headers is not None else {"X-NITRO-USER": USER, "X-NITRO-PASS": PASSWORD}

    def __call__(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method, f"{self.url}/{path}", json=body, headers=self.headers, verify=self.verify, timeout=10
        )


def done(resp: requests.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert (body["errorcode"], body["message"], body["severity"]) == (0, "Done", "NONE")
    return body


def refused(resp: requests.Response, status: int, code: int) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["errorcode"] == code and body["severity"] == "ERROR", body
    return str(body["message"])


def ikev2(nitro: Nitro) -> None:
    done(nitro("POST", "server", {"server": {"name": "rras1", "ipaddress": "10.0.0.11"}}), 201)
    done(
        nitro("POST", "servicegroup", {"servicegroup": {"servicegroupname": "sg500", "servicetype": "udp"}}),
        201,
    )
    done(
        nitro(
            "PUT",
            "servicegroup_servicegroupmember_binding",
            {
                "servicegroup_servicegroupmember_binding": {
                    "servicegroupname": "sg500",
                    "servername": "rras1",
                    "port": 500,
                }
            },
        )
    )
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "vs500", "servicetype": "UDP", "ipv46": "192.0.2.10", "port": 500}},
        ),
        201,
    )
    done(
        nitro(
            "PUT",
            "lbvserver_servicegroup_binding",
            {"lbvserver_servicegroup_binding": {"name": "vs500", "servicegroupname": "sg500"}},
        )
    )


def test_sessions_login_cookie_spellings_expiry_and_bad_password(adc):
    anonymous = Nitro(adc, headers={})
    resp = anonymous("POST", "login", {"login": {"username": USER, "password": PASSWORD}})
    body = done(resp, 201)
    sessionid = body["sessionid"]
    assert sessionid.startswith("##") and "NITRO_AUTH_TOKEN" in resp.headers["Set-Cookie"]
    for header in (
        {"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"},
        {"Cookie": f"sessionid={sessionid}"},
        {"Set-Cookie": f"NITRO_AUTH_TOKEN={sessionid}"},
    ):
        done(Nitro(adc, headers=header)("GET", "lbvserver"))
    adc.admin()._call("POST", "/_twin/expire-sessions")
    refused(Nitro(adc, headers={"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"})("GET", "lbvserver"), 401, 444)
    refused(anonymous("POST", "login", {"login": {"username": USER, "password": "x"}}), 401, 354)
    refused(Nitro(adc, headers={"X-NITRO-USER": USER, "X-NITRO-PASS": "x"})("GET", "server"), 401, 354)
    assert anonymous("GET", "server").status_code == 401


def test_envelope_empty_results_singletons_and_types(adc):
    nitro = Nitro(adc)
    empty = nitro("GET", "lbvserver")
    assert empty.text == '{ "errorcode": 0, "message": "Done", "severity": "NONE" }'
    ikev2(nitro)
    vs = done(nitro("GET", "lbvserver/vs500"))["lbvserver"]
    assert isinstance(vs, list) and len(vs) == 1  # an array even for one object
    assert vs[0]["port"] == 500 and vs[0]["clttimeout"] == "120" and vs[0]["timeout"] == 2
    assert vs[0]["lbmethod"] == "LEASTCONNECTION" and vs[0]["persistencetype"] == "NONE"
    sg = done(nitro("GET", "servicegroup/sg500"))["servicegroup"][0]
    assert sg["servicetype"] == "UDP" and sg["clttimeout"] == 120 and sg["td"] == "0"  # canonical case, types
    member = done(nitro("GET", "servicegroup_servicegroupmember_binding/sg500"))[
        "servicegroup_servicegroupmember_binding"
    ][0]
    assert member["port"] == 500 and member["weight"] == "1"
    assert isinstance(done(nitro("GET", "nsmode"))["nsmode"], dict)
    assert "lbgroup_lbvserver_binding" not in done(nitro("POST", "lbgroup", {"lbgroup": {"name": "g"}}), 201)
    assert "lbgroup_lbvserver_binding" not in done(nitro("GET", "lbgroup_lbvserver_binding/g"))
    refused(nitro("GET", "lbvserver/nope"), 404, 258)
    counted = done(nitro("GET", "server?count=yes"))
    assert counted["server"] == [{"__count": 1}]


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


def test_ip_bound_members_create_servers_that_outlive_them(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    by_ip = {"servicegroupname": "sg500", "ip": "10.0.0.12", "port": 500}
    done(
        nitro(
            "PUT",
            "servicegroup_servicegroupmember_binding",
            {"servicegroup_servicegroupmember_binding": by_ip},
        )
    )
    members = done(nitro("GET", "servicegroup_servicegroupmember_binding/sg500?filter=ip:10.0.0.12"))
    assert members["servicegroup_servicegroupmember_binding"][0]["servername"] == "10.0.0.12"
    done(nitro("DELETE", "servicegroup_servicegroupmember_binding/sg500?args=ip:10.0.0.12,port:500"))
    assert done(nitro("GET", "server/10.0.0.12"))["server"][0]["ipaddress"] == "10.0.0.12"
    refused(nitro("POST", "server", {"server": {"name": "named", "ipaddress": "10.0.0.12"}}), 409, 1335)


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


def test_persistency_group_rules(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    done(
        nitro("POST", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "SOURCEIP", "timeout": 30}}),
        201,
    )
    done(nitro("POST", "lbgroup", {"lbgroup": {"name": "h"}}), 201)
    done(
        nitro(
            "PUT",
            "lbgroup_lbvserver_binding",
            {"lbgroup_lbvserver_binding": {"name": "g", "vservername": "vs500"}},
        )
    )
    vs = done(nitro("GET", "lbvserver/vs500"))["lbvserver"][0]
    assert (vs["groupname"], vs["persistencetype"], vs["timeout"]) == ("g", "SOURCEIP", 30)
    refused(
        nitro(
            "PUT",
            "lbgroup_lbvserver_binding",
            {"lbgroup_lbvserver_binding": {"name": "h", "vservername": "vs500"}},
        ),
        599,
        2371,
    )
    refused(
        nitro("PUT", "lbvserver/vs500", {"lbvserver": {"name": "vs500", "persistencetype": "NONE"}}),
        599,
        2306,
    )
    assert done(nitro("GET", "lbgroup/g"))["lbgroup"][0]["timeout"] == "30"
    done(nitro("DELETE", "lbgroup_lbvserver_binding/g?args=vservername:vs500"))
    assert "groupname" not in done(nitro("GET", "lbvserver/vs500"))["lbvserver"][0]
    assert done(nitro("GET", "lbgroup/g"))["lbgroup"]  # the group survives losing its last member
    refused(nitro("DELETE", "lbgroup_lbvserver_binding/g?args=vservername:vs500"), 599, 2379)


def test_servicegroup_delete_cascades_and_modes(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    done(nitro("DELETE", "servicegroup/sg500"))
    assert "lbvserver_servicegroup_binding" not in done(nitro("GET", "lbvserver_servicegroup_binding/vs500"))
    done(nitro("POST", "nsmode?action=disable", {"nsmode": {"mode": "usnip"}}))
    modes = done(nitro("GET", "nsmode"))["nsmode"]
    assert modes["usnip"] is False and "USNIP" not in modes["mode"]
    done(nitro("POST", "nsmode?action=enable", {"nsmode": {"mode": ["USNIP"]}}))
    assert done(nitro("GET", "nsmode"))["nsmode"]["usnip"] is True
    refused(nitro("POST", "nsmode?action=enable", {"nsmode": {"mode": ["WARP"]}}), 400, 1074)


def test_save_then_reboot_keeps_saved_and_loses_unsaved(adc):
    nitro = Nitro(adc)
    done(nitro("POST", "server", {"server": {"name": "kept", "ipaddress": "10.0.0.1"}}), 201)
    assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is True
    done(nitro("POST", "nsconfig?action=save", {"nsconfig": {}}))
    assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is False
    done(nitro("POST", "server", {"server": {"name": "lost", "ipaddress": "10.0.0.2"}}), 201)
    adc.admin().reboot()
    assert {s["name"] for s in done(nitro("GET", "server"))["server"]} == {"kept"}
    log = adc.admin().log()
    assert [e["write"] for e in log if e["method"] == "POST" and e["path"].endswith("/server")] == [
        True,
        True,
    ]
