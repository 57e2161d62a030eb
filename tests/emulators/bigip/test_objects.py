"""The BIG-IP twin's shapes and normalisation (docs/f5.md#requests-and-responses), reference checks with
mcpd's codes, side effects, member drain, query options."""

from __future__ import annotations

import requests

from tests.emulators.bigip.rest import Rest, error, ikev2_objects, ok


def test_create_echoes_normalised_values_and_absent_keys(f5):
    rest = Rest(f5)
    ikev2_objects(rest)
    vs = ok(rest("GET", "/mgmt/tm/ltm/virtual/~Common~vs500"))
    assert vs["kind"] == "tm:ltm:virtual:virtualstate"
    assert vs["selfLink"] == "https://localhost/mgmt/tm/ltm/virtual/~Common~vs500?ver=17.1.0.1"
    assert vs["destination"] == "/Common/192.0.2.10:500"
    assert vs["persist"][0]["name"] == "srcaddr" and vs["persist"][0]["partition"] == "Common"
    assert vs["persist"][0]["tmDefault"] == "yes" and "nameReference" in vs["persist"][0]
    assert vs["enabled"] is True and "disabled" not in vs
    assert "profiles" not in vs and vs["profilesReference"]["isSubcollection"] is True
    pool = ok(rest("GET", "/mgmt/tm/ltm/pool/~Common~ike500"))
    assert pool["monitor"] == "/Common/gateway_icmp "  # trailing space, as BIG-IP renders it
    persistence = ok(rest("GET", "/mgmt/tm/ltm/persistence/source-addr/~Common~srcaddr"))
    assert persistence["timeout"] == "1800" and persistence["kind"].endswith("source-addr:source-addrstate")
    # unset references are omitted, null/"" from clients means none
    ok(rest("PATCH", "/mgmt/tm/ltm/virtual/~Common~vs500", {"pool": "", "persist": None}))
    vs = ok(rest("GET", "/mgmt/tm/ltm/virtual/~Common~vs500"))
    assert "pool" not in vs and "persist" not in vs
    # any mask
    ok(
        rest(
            "POST",
            "/mgmt/tm/ltm/virtual",
            {"name": "wild", "destination": "0.0.0.0:4500", "mask": "0.0.0.0", "ipProtocol": "udp"},
        )
    )
    assert ok(rest("GET", "/mgmt/tm/ltm/virtual/~Common~wild"))["mask"] == "any"


def test_trailing_slashes_create_200_delete_empty_and_global_generation(f5):
    rest = Rest(f5)
    first = ok(rest("POST", "/mgmt/tm/ltm/node/", {"name": "a", "address": "10.0.0.1"}))
    second = ok(rest("POST", "/mgmt/tm/ltm/node", {"name": "b", "address": "10.0.0.2"}))
    assert second["generation"] > first["generation"] > 1
    resp = rest("DELETE", "/mgmt/tm/ltm/node/~Common~a/")
    assert resp.status_code == 200 and resp.content == b""
    assert rest("GET", "/mgmt/tm/ltm/node/~Common~a").status_code == 404
    empty = ok(rest("GET", "/mgmt/tm/ltm/virtual"))
    assert "items" not in empty  # an empty collection has no items key


def test_unknown_properties_bad_values_and_empty_patch_are_refused(f5):
    rest = Rest(f5)
    resp = rest("POST", "/mgmt/tm/ltm/pool", {"name": "p", "colour": "blue"})
    assert resp.status_code == 400 and "Found unexpected json pair" in resp.json()["message"]
    resp = rest("POST", "/mgmt/tm/ltm/pool", {"name": "p", "loadBalancingMode": "fastest"})
    assert resp.status_code == 400
    ok(rest("POST", "/mgmt/tm/ltm/pool", {"name": "p"}))
    assert rest("PATCH", "/mgmt/tm/ltm/pool/~Common~p", {}).status_code == 400
    bad = requests.post(
        f"{f5.url}/mgmt/tm/ltm/pool",
        data=b"{not json",
        headers={"X-F5-Auth-Token": rest.token, "Content-Type": "application/json"},
        verify=rest.verify,
        timeout=10,
    )
    assert bad.status_code == 400 and bad.json()["message"] == "Found invalid JSON body in the request."


def test_referential_integrity_with_mcpd_codes(f5):
    rest = Rest(f5)
    ikev2_objects(rest)
    error(rest("POST", "/mgmt/tm/ltm/node", {"name": "rras1", "address": "10.0.0.99"}), 409, "01020066:3:")
    error(rest("DELETE", "/mgmt/tm/ltm/pool/~Common~ike500"), 400, "01070265:3:")
    error(rest("DELETE", "/mgmt/tm/ltm/node/~Common~rras1"), 400, "01070110:3:")
    error(rest("DELETE", "/mgmt/tm/ltm/persistence/source-addr/~Common~srcaddr"), 400, "01070265:3:")
    error(rest("DELETE", "/mgmt/tm/ltm/monitor/gateway-icmp/~Common~gateway_icmp"), 400, "01070734:3:")
    error(rest("POST", "/mgmt/tm/ltm/pool", {"name": "x", "monitor": "/Common/nope"}), 400, "01020036:3:")
    error(rest("GET", "/mgmt/tm/ltm/pool/~Common~missing"), 404, "01020036:3:")
    msg = error(
        rest(
            "POST",
            "/mgmt/tm/ltm/virtual",
            {"name": "t", "destination": "192.0.2.11:443", "profiles": ["/Common/udp"]},
        ),
        400,
        "01070097:3:",
    )
    assert "incompatible with its protocol" in msg
    error(
        rest(
            "POST",
            "/mgmt/tm/ltm/virtual",
            {"name": "s", "destination": "192.0.2.12:443", "sourceAddressTranslation": {"type": "snat"}},
        ),
        400,
        "01071811:3:",
    )
    error(
        rest(
            "POST",
            "/mgmt/tm/ltm/virtual",
            {"name": "dup", "destination": "192.0.2.10:500", "ipProtocol": "udp"},
        ),
        409,
        "01070333:3:",
    )
    ok(rest("DELETE", "/mgmt/tm/ltm/virtual/~Common~vs500"))
    ok(rest("DELETE", "/mgmt/tm/ltm/pool/~Common~ike500"))
    ok(rest("DELETE", "/mgmt/tm/ltm/node/~Common~rras1"))


def test_side_effects_nodes_from_members_and_virtual_addresses(f5):
    rest = Rest(f5)
    ok(rest("POST", "/mgmt/tm/ltm/pool", {"name": "p", "members": [{"name": "10.0.0.21:500"}]}))
    node = ok(rest("GET", "/mgmt/tm/ltm/node/~Common~10.0.0.21"))
    assert node["address"] == "10.0.0.21"
    member = ok(rest("GET", "/mgmt/tm/ltm/pool/~Common~p/members/~Common~10.0.0.21:500"))
    assert member["kind"] == "tm:ltm:pool:members:membersstate" and member["address"] == "10.0.0.21"
    ok(rest("DELETE", "/mgmt/tm/ltm/pool/~Common~p"))
    assert rest("GET", "/mgmt/tm/ltm/node/~Common~10.0.0.21").status_code == 200  # left behind
    for port in (500, 4500):
        ok(
            rest(
                "POST",
                "/mgmt/tm/ltm/virtual",
                {"name": f"v{port}", "destination": f"192.0.2.30:{port}", "ipProtocol": "udp"},
            )
        )
    assert ok(rest("GET", "/mgmt/tm/ltm/virtual-address/~Common~192.0.2.30"))["autoDelete"] == "true"
    profiles = ok(rest("GET", "/mgmt/tm/ltm/virtual/~Common~v500/profiles"))
    assert [p["fullPath"] for p in profiles["items"]] == ["/Common/udp"]  # the protocol's default profile
    ok(rest("DELETE", "/mgmt/tm/ltm/virtual/~Common~v500"))
    assert rest("GET", "/mgmt/tm/ltm/virtual-address/~Common~192.0.2.30").status_code == 200
    ok(rest("DELETE", "/mgmt/tm/ltm/virtual/~Common~v4500"))
    assert rest("GET", "/mgmt/tm/ltm/virtual-address/~Common~192.0.2.30").status_code == 404


def test_member_drain_and_list_replacement(f5):
    rest = Rest(f5)
    ikev2_objects(rest)
    path = "/mgmt/tm/ltm/pool/~Common~ike500/members/~Common~rras1:500"
    assert ok(rest("GET", path))["session"] == "monitor-enabled"
    ok(rest("PATCH", path, {"session": "user-disabled", "state": "user-up"}))
    assert ok(rest("GET", path))["session"] == "user-disabled"
    missing = rest("GET", "/mgmt/tm/ltm/pool/~Common~ike500/members/~Common~rras9:500")
    assert missing.status_code == 404 and "Pool Member" in missing.json()["message"]
    # a members list in a PATCH of the pool replaces the whole list
    ok(rest("PATCH", "/mgmt/tm/ltm/pool/~Common~ike500", {"members": [{"name": "10.0.0.40:500"}]}))
    names = [m["name"] for m in ok(rest("GET", "/mgmt/tm/ltm/pool/~Common~ike500/members"))["items"]]
    assert names == ["10.0.0.40:500"]


def test_query_options_expand_filter_select(f5):
    rest = Rest(f5)
    ikev2_objects(rest)
    pools = ok(rest("GET", "/mgmt/tm/ltm/pool?expandSubcollections=true&$filter=partition+eq+Common"))
    assert pools["items"][0]["membersReference"]["items"][0]["name"] == "rras1:500"
    assert "expandSubcollections=true" in pools["items"][0]["selfLink"]
    sys = ok(rest("GET", "/mgmt/tm/sys/"))
    assert sys["selfLink"].split("?", 1)[1] == "ver=17.1.0.1"
    selected = ok(rest("GET", "/mgmt/tm/ltm/pool/~Common~ike500?$select=name,monitor"))
    assert set(selected) == {"name", "monitor"}
