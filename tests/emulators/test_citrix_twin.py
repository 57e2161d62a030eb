"""The Citrix twin behaves like a NITRO API: the fidelity traps of reference/citrix.md."""

from __future__ import annotations

import base64
import datetime
import time
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

    def __call__(self, method: str, path: str, body: Any = None, cookies: Any = None) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}/{path}",
            json=body,
            headers=self.headers,
            cookies=cookies,
            verify=self.verify,
            timeout=10,
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
    assert sessionid.startswith("##") and "NITRO_AUTH_TOKEN=%23%23" in resp.headers["Set-Cookie"]
    set_cookie = resp.headers["Set-Cookie"].lower()
    assert "path=/nitro/v1" in set_cookie and "sessid=deleted" in set_cookie
    done(Nitro(adc, headers={})("GET", "server", cookies=resp.cookies))  # the cookie as the client got it
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


def bind(nitro: Nitro, binding: str, method: str = "PUT", **fields: Any) -> requests.Response:
    return nitro(method, binding, {binding: fields})


def test_idle_timeout_from_login_logout_and_custom_users(tls):
    twin = start_twin("citrix", tls=tls, users={"alice": "wonder"})
    try:
        anonymous = Nitro(twin, headers={})
        refused(anonymous("POST", "login", {"login": {"username": "nsroot", "password": "nsroot"}}), 401, 354)
        sessionid = done(
            anonymous("POST", "login", {"login": {"username": "alice", "password": "wonder", "timeout": 1}}),
            201,
        )["sessionid"]
        cookie = Nitro(twin, headers={"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"})
        done(cookie("GET", "server"))
        time.sleep(1.3)  # idle longer than the login's own timeout
        assert "Session expired" in refused(cookie("GET", "server"), 401, 444)
        # a fresh session, then logout kills it
        sessionid = done(
            anonymous("POST", "login", {"login": {"username": "alice", "password": "wonder"}}), 201
        )["sessionid"]
        cookie = Nitro(twin, headers={"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"})
        assert cookie("POST", "logout", {"logout": {}}).status_code in (200, 201)
        refused(cookie("GET", "server"), 401, 444)
        # login, logout and reads are not writes
        assert [e for e in twin.admin().log() if e["write"]] == []
    finally:
        twin.stop()


def test_admin_log_counts_writes_reads_and_refusals(adc):
    nitro = Nitro(adc)
    adc.admin().clear_log()
    done(nitro("POST", "server", {"server": {"name": "rras1", "ipaddress": "10.0.0.11"}}), 201)
    refused(nitro("POST", "server", {"server": {"name": "rras1", "ipaddress": "10.0.0.11"}}), 409, 273)
    done(nitro("GET", "server/rras1"))
    done(nitro("PUT", "server", {"server": {"name": "rras1", "comment": "first RRAS"}}))
    done(nitro("POST", "nsconfig?action=save", {"nsconfig": {}}))
    done(nitro("DELETE", "server/rras1"))
    refused(nitro("DELETE", "server/rras1"), 404, 258)
    counters = adc.admin().counters()
    assert counters["total"] == 7
    assert counters["writes"] == 4  # POST, PUT, save, DELETE; refusals and reads are not writes
    assert counters["reads"] == 3
    assert counters["by_status"] == {"201": 1, "409": 1, "200": 4, "404": 1}
    assert counters["by_request"]["DELETE /nitro/v1/config/server/rras1"] == 2


def test_put_forms_post_binds_double_slash_filters_and_pages(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    # PUT without the name in the path (Ansible) and with it (Terraform); numbers and enums as strings
    done(nitro("PUT", "lbvserver", {"lbvserver": {"name": "vs500", "lbmethod": "roundrobin"}}))
    done(nitro("PUT", "lbvserver/vs500", {"lbvserver": {"name": "vs500", "timeout": "10"}}))
    vs = done(nitro("GET", "lbvserver/vs500?attrs=name,lbmethod,timeout"))["lbvserver"]
    assert vs == [{"name": "vs500", "lbmethod": "ROUNDROBIN", "timeout": 10}]
    refused(
        nitro("PUT", "lbvserver/ghost", {"lbvserver": {"name": "ghost", "lbmethod": "ROUNDROBIN"}}), 404, 258
    )
    # a POST bind answers 201, a PUT bind 200
    done(
        nitro("POST", "servicegroup", {"servicegroup": {"servicegroupname": "sg4500", "servicetype": "UDP"}}),
        201,
    )
    done(
        bind(
            nitro,
            "servicegroup_servicegroupmember_binding",
            "POST",
            servicegroupname="sg4500",
            ip="10.0.0.11",
            port="4500",
            weight="20",
        ),
        201,
    )
    member = done(nitro("GET", "servicegroup_servicegroupmember_binding/sg4500"))[
        "servicegroup_servicegroupmember_binding"
    ][0]
    # the IP belonged to server rras1 already: the member shows that server, not an IP-named one
    assert (member["servername"], member["ip"], member["port"], member["weight"]) == (
        "rras1",
        "10.0.0.11",
        4500,
        "20",
    )
    # the Go SDK's unbind URL carries a double slash
    resp = requests.delete(
        f"{adc.url}/nitro/v1/config//servicegroup_servicegroupmember_binding/sg4500?args=servername:rras1,port:4500",
        headers=nitro.headers,
        verify=nitro.verify,
        timeout=10,
    )
    done(resp)
    assert "servicegroup_servicegroupmember_binding" not in done(
        nitro("GET", "servicegroup_servicegroupmember_binding/sg4500")
    )
    # filters are an AND of attribute:value pairs; no match is the bare envelope
    for name, ip in (("rras2", "10.0.0.12"), ("rras3", "10.0.0.13")):
        done(nitro("POST", "server", {"server": {"name": name, "ipaddress": ip}}), 201)
    found = done(nitro("GET", "server?filter=ipaddress:10.0.0.1[23]"))["server"]
    assert [s["name"] for s in found] == ["rras2", "rras3"]
    assert "server" not in done(nitro("GET", "server?filter=ipaddress:10.0.0.99"))
    page = done(nitro("GET", "server?pagesize=2&pageno=2"))["server"]
    assert [s["name"] for s in page] == ["rras3"]
    # every parent's rows at once, and every binding kind of one vserver
    rows = done(nitro("GET", "servicegroup_servicegroupmember_binding?bulkbindings=yes"))[
        "servicegroup_servicegroupmember_binding"
    ]
    assert [(r["servicegroupname"], r["port"]) for r in rows] == [("sg500", 500)]
    summary = done(nitro("GET", "lbvserver_binding/vs500"))["lbvserver_binding"]
    assert summary[0]["lbvserver_servicegroup_binding"][0]["servicegroupname"] == "sg500"
    refused(nitro("GET", "lbvserver_binding/ghost"), 404, 258)


def test_missing_parents_unbinding_what_is_not_bound_and_cascades(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    message = refused(
        bind(
            nitro, "servicegroup_servicegroupmember_binding", servicegroupname="nope", ip="10.0.0.1", port=1
        ),
        404,
        258,
    )
    assert message == "No such resource [serviceGroupName, nope]"
    refused(nitro("GET", "servicegroup_servicegroupmember_binding/nope"), 404, 258)
    refused(bind(nitro, "lbvserver_servicegroup_binding", name="vs500", servicegroupname="nope"), 404, 258)
    refused(bind(nitro, "lbvserver_servicegroup_binding", name="ghost", servicegroupname="sg500"), 404, 258)
    done(
        nitro("POST", "servicegroup", {"servicegroup": {"servicegroupname": "tcp", "servicetype": "TCP"}}),
        201,
    )
    refused(bind(nitro, "lbvserver_servicegroup_binding", name="vs500", servicegroupname="tcp"), 599, 1304)
    refused(nitro("DELETE", "lbvserver_servicegroup_binding/vs500?args=servicegroupname:tcp"), 599, 1303)
    # deleting a vserver takes its bindings and its group membership with it
    done(nitro("POST", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "SOURCEIP"}}), 201)
    done(bind(nitro, "lbgroup_lbvserver_binding", name="g", vservername="vs500"))
    done(nitro("DELETE", "lbvserver/vs500"))
    assert "lbgroup_lbvserver_binding" not in done(nitro("GET", "lbgroup_lbvserver_binding/g"))
    assert done(nitro("GET", "servicegroupbindings/sg500"))["servicegroupbindings"] == [
        {"servicegroupname": "sg500"}
    ]


def test_servicegroupbindings_answers_with_the_key_bound_or_not(adc):
    nitro = Nitro(adc)
    done(
        nitro("POST", "servicegroup", {"servicegroup": {"servicegroupname": "sg", "servicetype": "UDP"}}), 201
    )
    unbound = done(nitro("GET", "servicegroupbindings/sg"))
    assert unbound["servicegroupbindings"] == [{"servicegroupname": "sg"}]  # the key is there (trap 10)
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "vs", "servicetype": "UDP", "ipv46": "192.0.2.10", "port": 500}},
        ),
        201,
    )
    done(bind(nitro, "lbvserver_servicegroup_binding", "POST", name="vs", servicegroupname="sg"), 201)
    bound = done(nitro("GET", "servicegroupbindings/sg"))["servicegroupbindings"]
    assert bound == [
        {
            "servicegroupname": "sg",
            "vservername": "vs",
            "ipaddress": "192.0.2.10",
            "port": 500,
            "state": "ENABLED",
        }
    ]
    refused(nitro("GET", "servicegroupbindings/ghost"), 404, 258)


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


def test_persistency_group_locks_member_persistence_and_group_rules(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    done(
        nitro(
            "POST",
            "lbvserver",
            {
                "lbvserver": {
                    "name": "vs4500",
                    "servicetype": "UDP",
                    "ipv46": "192.0.2.10",
                    "port": 4500,
                    "persistencetype": "NONE",
                    "timeout": 7,
                }
            },
        ),
        201,
    )
    done(
        nitro("POST", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "SOURCEIP", "timeout": 5}}), 201
    )
    for vserver in ("vs500", "vs4500"):
        done(bind(nitro, "lbgroup_lbvserver_binding", "POST", name="g", vservername=vserver), 201)
    # the group's persistence is what its members show, and changing the group changes them
    done(nitro("PUT", "lbgroup", {"lbgroup": {"name": "g", "timeout": "20"}}))
    for vs in done(nitro("GET", "lbvserver"))["lbvserver"]:
        assert (vs["groupname"], vs["persistencetype"], vs["timeout"]) == ("g", "SOURCEIP", 20)
    refused(nitro("PUT", "lbvserver/vs4500", {"lbvserver": {"name": "vs4500", "timeout": 3}}), 599, 2306)
    refused(
        nitro("POST", "lbvserver?action=unset", {"lbvserver": {"name": "vs4500", "persistencetype": True}}),
        599,
        2306,
    )
    refused(bind(nitro, "lbgroup_lbvserver_binding", name="g", vservername="vs500"), 409, 273)
    # cookie persistence needs HTTP members
    refused(nitro("PUT", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "COOKIEINSERT"}}), 599, 2309)
    # vserver-level persistency on the group: no persistence parameters on the group itself
    done(nitro("POST", "lbgroup", {"lbgroup": {"name": "own", "usevserverpersistency": "enabled"}}), 201)
    refused(nitro("PUT", "lbgroup", {"lbgroup": {"name": "own", "persistencetype": "SOURCEIP"}}), 599, 2417)
    # a group whose persistence is unset leaves its members their own; setting it again overrides them
    done(nitro("POST", "lbgroup?action=unset", {"lbgroup": {"name": "g", "persistencetype": True}}))
    vs = done(nitro("GET", "lbvserver/vs4500"))["lbvserver"][0]
    assert (vs["persistencetype"], vs["timeout"], vs["groupname"]) == ("NONE", 7, "g")
    done(nitro("PUT", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "SOURCEIP"}}))
    assert done(nitro("GET", "lbvserver/vs4500"))["lbvserver"][0]["persistencetype"] == "SOURCEIP"
    # leaving the group gives the vserver its own settings back
    done(nitro("DELETE", "lbgroup_lbvserver_binding/g?args=vservername:vs4500"))
    vs = done(nitro("GET", "lbvserver/vs4500"))["lbvserver"][0]
    assert (vs["persistencetype"], vs["timeout"], "groupname" in vs) == ("NONE", 7, False)
    refused(bind(nitro, "lbgroup_lbvserver_binding", name="nope", vservername="vs4500"), 404, 258)


def test_monitor_reverse_binding_form_stays_consistent(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    done(nitro("POST", "lbmonitor", {"lbmonitor": {"monitorname": "m", "type": "PING"}}), 201)
    refused(nitro("POST", "lbmonitor", {"lbmonitor": {"monitorname": "m", "type": "PING"}}), 409, 273)
    refused(nitro("PUT", "lbmonitor/m", {"lbmonitor": {"monitorname": "m", "interval": 10}}), 400, 1095)
    done(nitro("PUT", "lbmonitor/m", {"lbmonitor": {"monitorname": "m", "type": "ping", "interval": 10}}))
    done(
        bind(nitro, "lbmonitor_servicegroup_binding", "POST", monitorname="m", servicegroupname="sg500"), 201
    )
    forward = done(nitro("GET", "servicegroup_lbmonitor_binding/sg500"))["servicegroup_lbmonitor_binding"]
    assert [(b["monitor_name"], b["weight"], b["passive"]) for b in forward] == [("m", "1", False)]
    refused(nitro("DELETE", "lbmonitor/m"), 400, 1095)  # the type is part of a monitor's identity
    refused(nitro("DELETE", "lbmonitor/m?args=type:ping"), 599, 2131)
    refused(nitro("DELETE", "servicegroup_lbmonitor_binding/sg500?args=monitor_name:ping-default"), 599, 2164)
    done(nitro("DELETE", "lbmonitor_servicegroup_binding/m?args=servicegroupname:sg500"))
    assert "servicegroup_lbmonitor_binding" not in done(nitro("GET", "servicegroup_lbmonitor_binding/sg500"))
    refused(nitro("DELETE", "servicegroup_lbmonitor_binding/sg500?args=monitor_name:m"), 599, 2170)
    done(nitro("DELETE", "lbmonitor/m?args=type:ping"))
    refused(nitro("GET", "lbmonitor/m"), 404, 258)


def test_saved_configuration_survives_reboot_and_restart_unsaved_does_not(tls, tmp_path):
    twin = start_twin("citrix", tls=tls, data_dir=tmp_path)
    try:
        nitro = Nitro(twin)
        ikev2(nitro)
        done(nitro("POST", "nsmode?action=enable", {"nsmode": {"mode": "USIP"}}))
        done(nitro("POST", "nsconfig?action=save", {"nsconfig": {}}))
        # unsaved: a binding removed, a mode changed, a new object
        done(nitro("DELETE", "lbvserver_servicegroup_binding/vs500?args=servicegroupname:sg500"))
        done(nitro("POST", "nsmode?action=disable", {"nsmode": {"mode": ["USIP"]}}))
        done(nitro("POST", "server", {"server": {"name": "unsaved", "ipaddress": "10.0.0.50"}}), 201)
        sessionid = done(
            Nitro(twin, headers={})("POST", "login", {"login": {"username": USER, "password": PASSWORD}}), 201
        )["sessionid"]
        assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is True
        twin.admin().reboot()
        assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is False
        assert {s["name"] for s in done(nitro("GET", "server"))["server"]} == {"rras1"}
        bound = done(nitro("GET", "lbvserver_servicegroup_binding/vs500"))["lbvserver_servicegroup_binding"]
        assert [b["servicegroupname"] for b in bound] == ["sg500"]
        assert done(nitro("GET", "nsmode"))["nsmode"]["usip"] is True
        # sessions do not survive a reboot
        refused(Nitro(twin, headers={"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"})("GET", "server"), 401, 444)
    finally:
        twin.stop()
    restarted = start_twin("citrix", tls=tls, data_dir=tmp_path)
    try:
        assert done(Nitro(restarted)("GET", "lbvserver/vs500"))["lbvserver"][0]["port"] == 500
    finally:
        restarted.stop()


def self_signed(common_name: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def upload(nitro: Nitro, filename: str, content: bytes, query: str = "") -> requests.Response:
    body = {
        "filename": filename,
        "filelocation": "/nsconfig/ssl/",
        "filecontent": base64.b64encode(content).decode(),
        "fileencoding": "BASE64",
    }
    return nitro("POST", f"systemfile{query}", {"systemfile": body})


def test_sstp_files_certkeys_and_vserver_bindings(adc):
    nitro = Nitro(adc)
    cert, key = self_signed("vpn.example.com")
    _, other_key = self_signed("other.example.com")
    for filename, content in (("vpn.crt", cert), ("vpn.key", key), ("other.key", other_key)):
        assert upload(nitro, filename, content).status_code in (200, 201)
    # a file that exists is refused even as an idempotent add
    refused(upload(nitro, "vpn.crt", cert, "?idempotent=yes"), 409, 1642)
    files = done(nitro("GET", "systemfile?args=filelocation:%2Fnsconfig%2Fssl"))["systemfile"]
    assert sorted(f["filename"] for f in files) == ["other.key", "vpn.crt", "vpn.key"]
    read = done(nitro("GET", "systemfile/vpn.crt?args=filelocation:%2Fnsconfig%2Fssl"))["systemfile"][0]
    assert base64.b64decode(read["filecontent"]) == cert and read["fileencoding"] == "BASE64"
    refused(nitro("GET", "systemfile"), 400, 1095)  # the location is part of a file's identity
    # a key that does not belong to the certificate is refused and nothing is created
    mismatched = nitro(
        "POST", "sslcertkey", {"sslcertkey": {"certkey": "bad", "cert": "vpn.crt", "key": "other.key"}}
    )
    assert mismatched.status_code == 599 and mismatched.json()["errorcode"] != 0
    refused(nitro("GET", "sslcertkey/bad"), 404, 258)
    done(
        nitro(
            "POST",
            "sslcertkey",
            {"sslcertkey": {"certkey": "aovpn", "cert": "vpn.crt", "key": "vpn.key", "inform": "pem"}},
        ),
        201,
    )
    certkey = done(nitro("GET", "sslcertkey/aovpn"))["sslcertkey"][0]
    assert certkey["status"] == "Valid" and certkey["daystoexpiration"] in (88, 89, 90)
    assert isinstance(certkey["serial"], str) and "vpn.example.com" in certkey["subject"]
    # the same certificate under a second name
    message = refused(
        nitro(
            "POST", "sslcertkey", {"sslcertkey": {"certkey": "again", "cert": "vpn.crt", "key": "vpn.key"}}
        ),
        409,
        273,
    )
    assert message == "Resource already exists [certkeyName Contents, aovpn]"
    refused(nitro("PUT", "sslcertkey", {"sslcertkey": {"certkey": "aovpn", "cert": "other.crt"}}), 599, 278)
    # certificates bind to SSL vservers only
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "ike", "servicetype": "UDP", "ipv46": "192.0.2.10", "port": 500}},
        ),
        201,
    )
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "sstp", "servicetype": "SSL", "ipv46": "192.0.2.10", "port": 443}},
        ),
        201,
    )
    refused(bind(nitro, "sslvserver_sslcertkey_binding", vservername="ike", certkeyname="aovpn"), 599, 1544)
    refused(bind(nitro, "sslvserver_sslcertkey_binding", vservername="ghost", certkeyname="aovpn"), 404, 461)
    refused(bind(nitro, "sslvserver_sslcertkey_binding", vservername="sstp", certkeyname="ghost"), 404, 258)
    assert "sslvserver_sslcertkey_binding" not in done(nitro("GET", "sslvserver_sslcertkey_binding/sstp"))
    done(bind(nitro, "sslvserver_sslcertkey_binding", vservername="sstp", certkeyname="aovpn"))
    refused(bind(nitro, "sslvserver_sslcertkey_binding", vservername="sstp", certkeyname="aovpn"), 409, 273)
    rows = done(nitro("GET", "sslvserver_sslcertkey_binding/sstp"))["sslvserver_sslcertkey_binding"]
    assert [(r["vservername"], r["certkeyname"]) for r in rows] == [("sstp", "aovpn")]
    refused(nitro("GET", "sslvserver_sslcertkey_binding/ghost"), 404, 461)
    # a bound certificate cannot go; unbound it can, and so can its files
    refused(nitro("DELETE", "sslcertkey/aovpn"), 599, 1070)
    done(nitro("DELETE", "sslvserver_sslcertkey_binding/sstp?args=certkeyname:aovpn"))
    done(nitro("DELETE", "sslcertkey/aovpn"))
    for filename in ("vpn.crt", "vpn.key", "other.key"):
        done(nitro("DELETE", f"systemfile/{filename}?args=filelocation:%2Fnsconfig%2Fssl"))
    assert "systemfile" not in done(nitro("GET", "systemfile?args=filelocation:%2Fnsconfig%2Fssl"))
    refused(nitro("GET", "systemfile/vpn.crt?args=filelocation:%2Fnsconfig%2Fssl"), 404, 258)


def test_bulk_adds_answer_207_per_object_and_honour_onerror(adc):
    servers = [
        {"name": "a", "ipaddress": "10.0.1.1"},
        {"name": "b", "ipaddress": "10.0.1.1"},  # the IP is a's: 1335
        {"name": "c", "ipaddress": "10.0.1.3"},
    ]
    ok = Nitro(adc)
    done(
        ok(
            "POST",
            "server",
            {"server": [{"name": "x", "ipaddress": "10.0.9.1"}, {"name": "y", "ipaddress": "10.0.9.2"}]},
        ),
        201,
    )
    rollback = Nitro(adc, headers={**ok.headers, "X-NITRO-ONERROR": "rollback"})
    resp = rollback("POST", "server", {"server": servers})
    assert resp.status_code == 207
    body = resp.json()
    assert (body["errorcode"], body["message"], body["severity"]) == (1243, "Bulk operation failed", "ERROR")
    assert [r["errorcode"] for r in body["response"]] == [0, 1335]
    assert {s["name"] for s in done(ok("GET", "server"))["server"]} == {
        "x",
        "y",
    }  # nothing of the bulk stayed
    resp = Nitro(adc, headers={**ok.headers, "X-NITRO-ONERROR": "continue"})(
        "POST", "server", {"server": servers}
    )
    assert resp.status_code == 207 and [r["errorcode"] for r in resp.json()["response"]] == [0, 1335, 0]
    assert {s["name"] for s in done(ok("GET", "server"))["server"]} == {"a", "c", "x", "y"}


def test_features_lbparameter_and_sslvserver(adc):
    nitro = Nitro(adc)
    features = done(nitro("GET", "nsfeature"))["nsfeature"]
    assert isinstance(features, dict) and features["lb"] is True and "LB" in features["feature"]
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "sstp", "servicetype": "SSL", "ipv46": "192.0.2.10", "port": 443}},
        ),
        201,
    )
    done(
        nitro("POST", "servicegroup", {"servicegroup": {"servicegroupname": "sg", "servicetype": "HTTP"}}),
        201,
    )
    done(bind(nitro, "lbvserver_servicegroup_binding", name="sstp", servicegroupname="sg"))  # SSL offload
    assert done(nitro("GET", "sslvserver/sstp"))["sslvserver"][0]["vservername"] == "sstp"
    refused(nitro("GET", "sslvserver/ghost"), 404, 461)
    done(nitro("POST", "nsfeature?action=disable", {"nsfeature": {"feature": ["ssl"]}}))
    assert done(nitro("GET", "nsfeature"))["nsfeature"]["ssl"] is False
    assert done(nitro("GET", "lbvserver/sstp"))["lbvserver"][0]["value"] == "SSL feature disabled"
    assert "value" not in done(nitro("GET", "servicegroup/sg"))["servicegroup"][0]  # HTTP: not an SSL entity
    done(nitro("POST", "nsfeature?action=enable", {"nsfeature": {"feature": "SSL"}}))
    assert "value" not in done(nitro("GET", "lbvserver/sstp"))["lbvserver"][0]
    # deleting a bound servicegroup is allowed unless allowboundsvcremoval is DISABLED
    assert done(nitro("GET", "lbparameter"))["lbparameter"]["allowboundsvcremoval"] == "ENABLED"
    done(nitro("PUT", "lbparameter", {"lbparameter": {"allowboundsvcremoval": "disabled"}}))
    refused(nitro("DELETE", "servicegroup/sg"), 599, 1325)
    done(nitro("PUT", "lbparameter", {"lbparameter": {"allowboundsvcremoval": "ENABLED"}}))
    done(nitro("DELETE", "servicegroup/sg"))


def test_uploaded_files_are_on_disk_not_in_the_configuration(adc):
    nitro = Nitro(adc)
    assert upload(nitro, "note.txt", b"hello").status_code in (200, 201)
    assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is False
    adc.admin().reboot()  # without a save
    read = done(nitro("GET", "systemfile/note.txt?args=filelocation:%2Fnsconfig%2Fssl"))["systemfile"][0]
    assert base64.b64decode(read["filecontent"]) == b"hello"


def test_malformed_input_is_refused_not_a_crash(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    member = {"servicegroupname": "sg500", "servername": "rras1", "port": "five hundred"}
    refused(bind(nitro, "servicegroup_servicegroupmember_binding", **member), 400, 1074)
    refused(nitro("POST", "server", {"server": "rras9"}), 400, 1095)
    resp = requests.post(
        f"{nitro.url}/server", data="{not json", headers=nitro.headers, verify=nitro.verify, timeout=10
    )
    assert resp.status_code == 400 and resp.json()["severity"] == "ERROR"
    assert [e for e in adc.admin().log() if e["write"] and e["status"] >= 400] == []


def test_certkey_update_in_place_link_and_options(adc):
    nitro = Nitro(adc)
    old_cert, old_key = self_signed("vpn.example.com")
    new_cert, new_key = self_signed("vpn.example.com")
    ca_cert, _ = self_signed("Example CA")
    for filename, content in (
        ("old.crt", old_cert),
        ("old.key", old_key),
        ("new.crt", new_cert),
        ("new.key", new_key),
        ("ca.crt", ca_cert),
    ):
        assert upload(nitro, filename, content).status_code in (200, 201)
    done(
        nitro("POST", "sslcertkey", {"sslcertkey": {"certkey": "vpn", "cert": "old.crt", "key": "old.key"}}),
        201,
    )
    done(nitro("POST", "sslcertkey", {"sslcertkey": {"certkey": "ca", "cert": "ca.crt"}}), 201)
    serial = done(nitro("GET", "sslcertkey/vpn"))["sslcertkey"][0]["serial"]
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "sstp", "servicetype": "SSL", "ipv46": "192.0.2.10", "port": 443}},
        ),
        201,
    )
    done(bind(nitro, "sslvserver_sslcertkey_binding", vservername="sstp", certkeyname="vpn"))
    # replace the certificate in place: the binding stays, the serial changes
    refused(nitro("POST", "sslcertkey?action=change", {"sslcertkey": {"certkey": "vpn"}}), 400, 1240)
    update = {"certkey": "vpn", "cert": "new.crt", "key": "old.key", "nodomaincheck": True}
    assert (
        nitro("POST", "sslcertkey?action=update", {"sslcertkey": update}).status_code == 599
    )  # key mismatch
    update["key"] = "new.key"
    done(nitro("POST", "sslcertkey?action=update", {"sslcertkey": update}))
    certkey = done(nitro("GET", "sslcertkey/vpn"))["sslcertkey"][0]
    assert certkey["serial"] != serial and certkey["cert"] == "new.crt"
    rows = done(nitro("GET", "sslvserver_sslcertkey_binding/sstp"))["sslvserver_sslcertkey_binding"]
    assert [r["certkeyname"] for r in rows] == ["vpn"]
    # the chain: a linked issuer cannot go while linked
    refused(
        nitro(
            "POST", "sslcertkey?action=link", {"sslcertkey": {"certkey": "vpn", "linkcertkeyname": "nope"}}
        ),
        404,
        258,
    )
    done(nitro("POST", "sslcertkey?action=link", {"sslcertkey": {"certkey": "vpn", "linkcertkeyname": "ca"}}))
    assert done(nitro("GET", "sslcertkey/vpn"))["sslcertkey"][0]["linkcertkeyname"] == "ca"
    refused(nitro("DELETE", "sslcertkey/ca"), 599, 1070)
    done(nitro("POST", "sslcertkey?action=unlink", {"sslcertkey": {"certkey": "vpn"}}))
    done(nitro("DELETE", "sslcertkey/ca"))
    # what PUT may change
    done(
        nitro(
            "PUT",
            "sslcertkey",
            {"sslcertkey": {"certkey": "vpn", "expirymonitor": "enabled", "notificationperiod": "30"}},
        )
    )
    certkey = done(nitro("GET", "sslcertkey/vpn"))["sslcertkey"][0]
    assert (certkey["expirymonitor"], certkey["notificationperiod"]) == ("ENABLED", 30)
    refused(
        nitro("PUT", "sslcertkey", {"sslcertkey": {"certkey": "vpn", "notificationperiod": 5}}), 400, 1074
    )
