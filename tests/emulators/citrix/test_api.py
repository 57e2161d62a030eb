"""The Citrix twin answers like NITRO: envelope, types, admin log, request forms, bulk adds, bad input."""

from __future__ import annotations

import requests

from tests.emulators.citrix.nitro import Nitro, bind, done, ikev2, refused


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
