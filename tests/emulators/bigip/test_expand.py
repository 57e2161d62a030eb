"""``expandSubcollections=true`` on every collection and object the BIG-IP twin serves."""

from __future__ import annotations

from tests.emulators.bigip.rest import Rest, error, ikev2_objects, ok

EXPAND = "expandSubcollections=true"
LINK = "https://localhost/mgmt/tm"


def test_expand_subcollections_inlines_pool_members(f5):
    """A pool's ``membersReference`` gains ``items`` (the members as their own GET shows them); its ``link``
    keeps only ``?ver=``; a pool without members gets no ``items`` (docs/f5.md#query-options)."""
    rest = Rest(f5)
    ikev2_objects(rest)
    ok(rest("POST", "/mgmt/tm/ltm/pool", {"name": "empty"}))
    plain = ok(rest("GET", "/mgmt/tm/ltm/pool/~Common~ike500"))
    assert "items" not in plain["membersReference"]
    pool = ok(rest("GET", f"/mgmt/tm/ltm/pool/~Common~ike500?{EXPAND}"))
    assert pool["selfLink"] == f"{LINK}/ltm/pool/~Common~ike500?{EXPAND}&ver=17.1.0.1"
    ref = pool["membersReference"]
    assert ref["link"] == f"{LINK}/ltm/pool/~Common~ike500/members?ver=17.1.0.1"
    assert ref["isSubcollection"] is True
    member = ok(rest("GET", "/mgmt/tm/ltm/pool/~Common~ike500/members/~Common~rras1:500"))
    assert ref["items"] == [member]
    assert member["kind"] == "tm:ltm:pool:members:membersstate" and member["generation"] == pool["generation"]
    assert member["selfLink"].endswith("/members/~Common~rras1:500?ver=17.1.0.1")
    # the whole collection: every pool carries its own members, an empty pool none
    pools = {p["name"]: p for p in ok(rest("GET", f"/mgmt/tm/ltm/pool?{EXPAND}"))["items"]}
    assert [m["name"] for m in pools["ike500"]["membersReference"]["items"]] == ["rras1:500"]
    assert "items" not in pools["empty"]["membersReference"]
    # the rest of each object is what a plain GET gives
    unexpanded = {p["name"]: p for p in ok(rest("GET", "/mgmt/tm/ltm/pool"))["items"]}
    for name, expanded in pools.items():
        drop = ("selfLink", "membersReference")
        assert {k: v for k, v in expanded.items() if k not in drop} == {
            k: v for k, v in unexpanded[name].items() if k not in drop
        }


def test_expand_subcollections_inlines_virtual_profiles(f5):
    rest = Rest(f5)
    ikev2_objects(rest)
    vs = ok(rest("GET", f"/mgmt/tm/ltm/virtual/~Common~vs500?{EXPAND}"))
    assert vs["selfLink"] == f"{LINK}/ltm/virtual/~Common~vs500?{EXPAND}&ver=17.1.0.1"
    profiles = vs["profilesReference"]["items"]
    assert [(p["fullPath"], p["context"]) for p in profiles] == [("/Common/udp", "all")]
    assert profiles[0]["kind"] == "tm:ltm:virtual:profiles:profilesstate"
    assert profiles[0]["nameReference"]["link"] == f"{LINK}/ltm/profile/udp/~Common~udp?ver=17.1.0.1"
    assert profiles[0]["selfLink"] == f"{LINK}/ltm/virtual/~Common~vs500/profiles/~Common~udp?ver=17.1.0.1"
    assert vs["profilesReference"]["link"] == f"{LINK}/ltm/virtual/~Common~vs500/profiles?ver=17.1.0.1"
    # no policies attached: the reference stays a bare link
    assert vs["policiesReference"] == {
        "link": f"{LINK}/ltm/virtual/~Common~vs500/policies?ver=17.1.0.1",
        "isSubcollection": True,
    }
    listed = ok(rest("GET", f"/mgmt/tm/ltm/virtual?{EXPAND}"))["items"]
    assert [p["name"] for p in listed[0]["profilesReference"]["items"]] == ["udp"]
    # the policies subcollection is served (terraform reads it after every create), empty here
    policies = ok(rest("GET", f"/mgmt/tm/ltm/virtual/~Common~vs500/policies?{EXPAND}"))
    assert policies["kind"] == "tm:ltm:virtual:policies:policiescollectionstate" and "items" not in policies
    # what terraform sends when no policy is set is "none"; a policy the box lacks is not found
    ok(rest("PATCH", "/mgmt/tm/ltm/virtual/~Common~vs500", {"policies": None}))
    error(
        rest("PATCH", "/mgmt/tm/ltm/virtual/~Common~vs500", {"policies": [{"name": "/Common/nope"}]}),
        400,
        "01020036:3:",
    )


def test_expand_subcollections_on_collections_without_subcollections(f5):
    """Collections whose objects have no subcollections answer as without the option, but for the echo."""
    rest = Rest(f5)
    ikev2_objects(rest)
    for path in (
        "/mgmt/tm/ltm/node",
        "/mgmt/tm/ltm/node/~Common~rras1",
        "/mgmt/tm/ltm/monitor/gateway-icmp",
        "/mgmt/tm/ltm/persistence/source-addr/~Common~srcaddr",
        "/mgmt/tm/ltm/virtual-address",
        "/mgmt/tm/net/self",
        "/mgmt/tm/cm/device-group",
    ):
        plain = ok(rest("GET", path))
        expanded = ok(rest("GET", f"{path}?{EXPAND}"))
        assert expanded["selfLink"] == plain["selfLink"].replace("?ver=", f"?{EXPAND}&ver="), path
        strip = ("selfLink",)
        for body in (plain, expanded):
            for item in body.get("items", [body]):
                assert not any(k.endswith("Reference") and "items" in v for k, v in item.items()), path
        assert {k: v for k, v in expanded.items() if k not in strip and k != "items"} == {
            k: v for k, v in plain.items() if k not in strip and k != "items"
        }
        assert len(expanded.get("items", [])) == len(plain.get("items", []))


def test_expand_on_subcollections_and_their_items_with_filter_and_select(f5):
    rest = Rest(f5)
    ikev2_objects(rest)
    members = ok(rest("GET", f"/mgmt/tm/ltm/pool/~Common~ike500/members?{EXPAND}"))
    assert members["selfLink"] == f"{LINK}/ltm/pool/~Common~ike500/members?{EXPAND}&ver=17.1.0.1"
    assert members["kind"] == "tm:ltm:pool:members:memberscollectionstate"
    member = ok(rest("GET", f"/mgmt/tm/ltm/pool/~Common~ike500/members/~Common~rras1:500?{EXPAND}"))
    assert member["selfLink"].endswith(f"/members/~Common~rras1:500?{EXPAND}&ver=17.1.0.1")
    # $filter and $select apply to a subcollection as to any collection
    filtered = ok(rest("GET", "/mgmt/tm/ltm/pool/~Common~ike500/members?$filter=partition+eq+Other"))
    assert "items" not in filtered
    names = ok(rest("GET", "/mgmt/tm/ltm/pool/~Common~ike500/members?$select=name,address"))["items"]
    assert names == [{"name": "rras1:500", "address": "10.0.0.11"}]
    # $select keeps an expanded reference whole; $filter picks the objects, each still expanded
    chosen = ok(
        rest("GET", f"/mgmt/tm/ltm/pool?{EXPAND}&$select=name,membersReference&$filter=partition+eq+Common")
    )
    assert "$select=name%2CmembersReference" in chosen["selfLink"]
    assert set(chosen["items"][0]) == {"name", "membersReference"}
    assert chosen["items"][0]["membersReference"]["items"][0]["address"] == "10.0.0.11"
    assert "items" not in ok(rest("GET", f"/mgmt/tm/ltm/pool?{EXPAND}&$filter=partition+eq+Other"))
