"""The F5 twin behaves like a BIG-IP: the fidelity traps of reference/f5.md §10, and f5-sdk as an
independent client (it checks kinds, selfLinks, trailing slashes and response shapes on its own)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import requests
import trustme

from emulators.common import start_twin

ADMIN = ("admin", "admin")
USER = ("automation", "automation-pass")


@pytest.fixture
def f5(tls):
    twin = start_twin("f5", tls=tls)
    yield twin
    twin.stop()


class Rest:
    """Plain iControl REST over a token, with the twin's CA verified on every request."""

    def __init__(self, twin: Any, creds: tuple[str, str] = USER) -> None:
        self.url = twin.url
        self.verify = str(twin.tls.ca_path)
        resp = requests.post(
            f"{self.url}/mgmt/shared/authn/login",
            json={"username": creds[0], "password": creds[1], "loginProviderName": "tmos"},
            verify=self.verify,
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
        self.token = resp.json()["token"]["token"]

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"X-F5-Auth-Token": self.token, **headers},
            verify=self.verify,
            timeout=10,
        )


def ok(resp: requests.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json() if resp.content else None


def error(resp: requests.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == status
    assert body["message"].startswith(code), body["message"]
    return str(body["message"])


def ikev2_objects(rest: Rest) -> None:
    ok(rest("POST", "/mgmt/tm/ltm/node", {"name": "rras1", "partition": "Common", "address": "10.0.0.11"}))
    ok(
        rest(
            "POST",
            "/mgmt/tm/ltm/pool",
            {"name": "ike500", "monitor": "/Common/gateway_icmp", "members": [{"name": "rras1:500"}]},
        )
    )
    ok(
        rest(
            "POST",
            "/mgmt/tm/ltm/persistence/source-addr",
            {
                "name": "srcaddr",
                "defaultsFrom": "/Common/source_addr",
                "matchAcrossServices": "enabled",
                "timeout": 1800,
            },
        )
    )
    ok(
        rest(
            "POST",
            "/mgmt/tm/ltm/virtual",
            {
                "name": "vs500",
                "destination": "192.0.2.10:500",
                "mask": "255.255.255.255",
                "ipProtocol": "udp",
                "pool": "/Common/ike500",
                "persist": [{"name": "/Common/srcaddr", "tmDefault": "yes"}],
                "profiles": [{"name": "/Common/udp", "context": "all"}],
                "sourceAddressTranslation": {"type": "none"},
            },
        )
    )


# -- authentication (traps 13, 14) ---------------------------------------------------------------------
def test_bad_basic_password_is_an_html_401_from_httpd(f5):
    resp = requests.get(
        f"{f5.url}/mgmt/tm/ltm/pool", auth=("automation", "wrong"), verify=str(f5.tls.ca_path), timeout=10
    )
    assert resp.status_code == 401 and resp.reason == "F5 Authorization Required"
    assert resp.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        resp.json()


def test_no_credentials_and_failed_login_are_restjavad_json(f5):
    resp = requests.get(f"{f5.url}/mgmt/tm/ltm/pool", verify=str(f5.tls.ca_path), timeout=10)
    assert resp.status_code == 401
    body = resp.json()
    assert body["kind"] == ":resterrorresponse" and "no user authentication header" in body["message"]
    resp = requests.post(
        f"{f5.url}/mgmt/shared/authn/login",
        json={"username": "automation", "password": "nope", "loginProviderName": "tmos"},
        verify=str(f5.tls.ca_path),
        timeout=10,
    )
    assert resp.status_code == 401
    body = resp.json()
    assert body["message"] == "Authentication failed." and "nope" not in resp.text


def test_token_login_shape_expiry_and_lifetime_ceiling(f5):
    rest = Rest(f5)
    resp = requests.post(
        f"{f5.url}/mgmt/shared/authn/login",
        json={"username": "automation", "password": "automation-pass", "loginProviderName": "tmos"},
        verify=str(f5.tls.ca_path),
        timeout=10,
    )
    token = resp.json()["token"]
    assert "timeout" not in resp.json()  # no top-level timeout (reference/f5.md §1.2)
    assert token["timeout"] == 1200 and len(token["token"]) == 26
    assert token["expirationMicros"] - token["lastUpdateMicros"] == 1200 * 1_000_000
    patched = ok(rest("PATCH", f"/mgmt/shared/authz/tokens/{rest.token}", {"timeout": 36000}))
    assert patched["timeout"] == 36000  # a JSON number, as go-bigip requires
    too_long = rest("PATCH", f"/mgmt/shared/authz/tokens/{rest.token}", {"timeout": 36001})
    assert too_long.status_code == 400 and "36000 seconds" in too_long.json()["message"]
    # someone else's token cannot be touched
    other = Rest(f5, ADMIN)
    assert other("DELETE", f"/mgmt/shared/authz/tokens/{rest.token}").status_code == 400
    f5.admin()._call("POST", "/_twin/expire-tokens")
    resp = rest("GET", "/mgmt/tm/ltm/pool")
    assert resp.status_code == 401 and "X-F5-Auth-Token does not exist." in resp.json()["message"]


def test_a_user_has_at_most_100_tokens_admin_excepted(f5):
    sessions = [Rest(f5) for _ in range(100)]
    resp = requests.post(
        f"{f5.url}/mgmt/shared/authn/login",
        json={"username": "automation", "password": "automation-pass", "loginProviderName": "tmos"},
        verify=str(f5.tls.ca_path),
        timeout=10,
    )
    assert resp.status_code == 400 and "has reached maximum active login tokens" in resp.json()["message"]
    ok(sessions[0]("DELETE", f"/mgmt/shared/authz/tokens/{sessions[0].token}"))
    Rest(f5)  # a deleted token frees a slot
    for _ in range(101):
        Rest(f5, ADMIN)


# -- shapes and normalisation (traps 2-9) --------------------------------------------------------------
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


EXPAND = "expandSubcollections=true"
LINK = "https://localhost/mgmt/tm"


def test_expand_subcollections_inlines_pool_members(f5):
    """A pool's ``membersReference`` gains ``items`` (the members as their own GET shows them); its ``link``
    keeps only ``?ver=``; a pool without members gets no ``items`` (reference/f5.md §5, trap 16)."""
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


# -- persistence of configuration, certificates, sync, transactions ------------------------------------
def test_save_then_reboot_keeps_saved_and_loses_unsaved(f5):
    rest = Rest(f5)
    ok(rest("POST", "/mgmt/tm/ltm/node", {"name": "kept", "address": "10.0.0.1"}))
    assert ok(rest("POST", "/mgmt/tm/sys/config", {"command": "save"}))["kind"] == "tm:sys:config:savestate"
    ok(rest("POST", "/mgmt/tm/ltm/node", {"name": "lost", "address": "10.0.0.2"}))
    f5.admin().reboot()
    assert rest("GET", "/mgmt/tm/ltm/node").status_code == 401  # tokens do not survive a reboot
    rest = Rest(f5)
    names = {n["name"] for n in ok(rest("GET", "/mgmt/tm/ltm/node"))["items"]}
    assert names == {"kept"}


def _pem_pair() -> tuple[bytes, bytes, str]:
    ca = trustme.CA()
    leaf = ca.issue_cert("vpn.example.test", not_after=datetime.datetime(2031, 1, 1, tzinfo=datetime.UTC))
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert_pem = leaf.cert_chain_pems[0].bytes()
    digest = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256()).hex().upper()
    return cert_pem, leaf.private_key_pem.bytes(), digest


def test_upload_install_certificate_and_use_it_in_client_ssl(f5):
    rest = Rest(f5)
    cert_pem, key_pem, digest = _pem_pair()
    for name, data in (("vpn.crt", cert_pem), ("vpn.key", key_pem)):
        half = len(data) // 2
        for start, chunk in ((0, data[:half]), (half, data[half:])):
            resp = requests.post(
                f"{f5.url}/mgmt/shared/file-transfer/uploads/{name}",
                data=chunk,
                headers={
                    "X-F5-Auth-Token": rest.token,
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{start}-{start + len(chunk) - 1}/{len(data)}",
                },
                verify=rest.verify,
                timeout=10,
            )
            assert resp.status_code == 200, resp.text
        assert resp.json()["remainingByteCount"] == 0
    for kind, name in (("key", "vpn.key"), ("cert", "vpn.crt")):
        ok(
            rest(
                "POST",
                f"/mgmt/tm/sys/crypto/{kind}",
                {"command": "install", "name": name, "from-local-file": f"/var/config/rest/downloads/{name}"},
            )
        )
    cert = ok(rest("GET", "/mgmt/tm/sys/crypto/cert/~Common~vpn.crt"))
    assert cert["fingerprint"] == "SHA256/" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    assert cert["expirationString"] == "Jan  1 00:00:00 2031 GMT" and cert["keyType"] == "ec-public"
    assert (
        ok(rest("GET", "/mgmt/tm/sys/file/ssl-cert/~Common~vpn.crt"))["kind"]
        == "tm:sys:file:ssl-cert:ssl-certstate"
    )
    error(
        rest(
            "POST",
            "/mgmt/tm/ltm/profile/client-ssl",
            {
                "name": "c",
                "certKeyChain": [{"name": "x", "cert": "/Common/nope.crt", "key": "/Common/vpn.key"}],
            },
        ),
        400,
        "01020036:3:",
    )
    profile = ok(
        rest(
            "POST",
            "/mgmt/tm/ltm/profile/client-ssl",
            {
                "name": "c",
                "certKeyChain": [{"name": "vpn", "cert": "/Common/vpn.crt", "key": "/Common/vpn.key"}],
            },
        )
    )
    assert profile["defaultsFrom"] == "/Common/clientssl" and profile["cert"] == "/Common/vpn.crt"
    error(rest("DELETE", "/mgmt/tm/sys/crypto/cert/~Common~vpn.crt"), 400, "01070265:3:")
    bad = rest(
        "POST",
        "/mgmt/tm/sys/crypto/cert",
        {"command": "install", "name": "junk.crt", "from-local-file": "/var/config/rest/downloads/vpn.key"},
    )
    assert bad.status_code == 400


def test_config_sync_to_a_device_group(f5):
    rest = Rest(f5)
    status = ok(rest("GET", "/mgmt/tm/cm/sync-status"))
    entries = next(iter(status["entries"].values()))["nestedStats"]["entries"]
    assert entries["status"]["description"] == "In Sync"
    ok(rest("POST", "/mgmt/tm/ltm/node", {"name": "n", "address": "10.0.0.1"}))
    entries = next(iter(ok(rest("GET", "/mgmt/tm/cm/sync-status"))["entries"].values()))["nestedStats"][
        "entries"
    ]
    assert entries["status"]["description"] == "Changes Pending"
    error(
        rest("POST", "/mgmt/tm/cm", {"command": "run", "utilCmdArgs": "config-sync to-group nope"}),
        400,
        "01070734:3:",
    )
    done = ok(
        rest("POST", "/mgmt/tm/cm", {"command": "run", "utilCmdArgs": "config-sync to-group aovpn-failover"})
    )
    assert done["kind"] == "tm:cm:runstate"
    entries = next(iter(ok(rest("GET", "/mgmt/tm/cm/sync-status"))["entries"].values()))["nestedStats"][
        "entries"
    ]
    assert entries["status"]["description"] == "In Sync"


def test_transactions_queue_then_apply_all_or_nothing(f5):
    rest = Rest(f5)
    trans = ok(rest("POST", "/mgmt/tm/transaction", {}))
    tid = str(trans["transId"])
    queued = ok(
        rest(
            "POST",
            "/mgmt/tm/ltm/node",
            {"name": "t1", "address": "10.0.0.1"},
            **{"X-F5-REST-Coordination-Id": tid},
        )
    )
    assert queued["kind"] == "tm:transaction:commandsstate"
    assert rest("GET", "/mgmt/tm/ltm/node/~Common~t1").status_code == 404  # nothing visible yet
    done = ok(rest("PATCH", f"/mgmt/tm/transaction/{tid}", {"state": "VALIDATING", "validateOnly": False}))
    assert done["state"] == "COMPLETED"
    assert rest("GET", "/mgmt/tm/ltm/node/~Common~t1").status_code == 200
    trans = ok(rest("POST", "/mgmt/tm/transaction", {}))
    tid = str(trans["transId"])
    rest(
        "POST",
        "/mgmt/tm/ltm/node",
        {"name": "t2", "address": "10.0.0.2"},
        **{"X-F5-REST-Coordination-Id": tid},
    )
    rest(
        "POST",
        "/mgmt/tm/ltm/node",
        {"name": "t1", "address": "10.0.0.3"},
        **{"X-F5-REST-Coordination-Id": tid},
    )
    failed = rest("PATCH", f"/mgmt/tm/transaction/{tid}", {"state": "VALIDATING"})
    assert failed.status_code == 409
    assert rest("GET", "/mgmt/tm/ltm/node/~Common~t2").status_code == 404  # rolled back


def test_admin_log_counts_writes_and_injected_faults(f5):
    rest = Rest(f5)
    admin = f5.admin()
    admin.clear_log()
    ok(rest("POST", "/mgmt/tm/ltm/node", {"name": "n", "address": "10.0.0.1"}))
    rest("GET", "/mgmt/tm/ltm/node/~Common~n")
    rest("POST", "/mgmt/tm/ltm/node", {"name": "n", "address": "10.0.0.1"})  # refused: not a write
    assert [(e["method"], e["write"]) for e in admin.log()] == [
        ("POST", True),
        ("GET", False),
        ("POST", False),
    ]
    admin.add_fault(method="GET", path="/mgmt/tm/ltm/node", status=503, body={"code": 503, "message": "busy"})
    assert rest("GET", "/mgmt/tm/ltm/node").status_code == 503
    assert rest("GET", "/mgmt/tm/ltm/node").status_code == 200


# -- f5-sdk, an independent client ---------------------------------------------------------------------
@pytest.fixture
def sdk(f5, monkeypatch):
    pytest.importorskip("f5.bigip")
    from f5.bigip import ManagementRoot

    # requests lets REQUESTS_CA_BUNDLE override a session's verify; f5-sdk sets the session's, so clear it.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return ManagementRoot(
        "127.0.0.1", *USER, port=f5.port, token=True, verify=str(f5.tls.ca_path), timeout=10
    )


def test_f5_sdk_provisions_the_ikev2_objects(sdk, f5):
    assert sdk.tmos_version == "17.1.0.1"
    ltm = sdk.tm.ltm
    ltm.nodes.node.create(name="rras1", partition="Common", address="10.0.0.11")
    persistence = ltm.persistence.source_addrs.source_addr.create(
        name="srcaddr", partition="Common", defaultsFrom="/Common/source_addr", matchAcrossServices="enabled"
    )
    assert persistence.timeout == "180"
    pool = ltm.pools.pool.create(name="ike500", partition="Common", monitor="/Common/gateway_icmp")
    pool.members_s.members.create(name="rras1:500", partition="Common")
    assert ltm.pools.pool.exists(name="ike500", partition="Common")
    assert not ltm.pools.pool.exists(name="nope", partition="Common")
    virtual = ltm.virtuals.virtual.create(
        name="vs500",
        partition="Common",
        destination="192.0.2.10:500",
        ipProtocol="udp",
        pool="/Common/ike500",
        persist=[{"name": "srcaddr", "partition": "Common", "tmDefault": "yes"}],
        sourceAddressTranslation={"type": "none"},
    )
    assert virtual.destination == "/Common/192.0.2.10:500"
    # modify (PATCH, only the given keys) and update (PUT of the whole cached object with read-only keys)
    pool.modify(description="ike")
    pool.refresh()
    assert pool.description == "ike"
    pool.update(loadBalancingMode="least-connections-member")
    loaded = ltm.pools.pool.load(name="ike500", partition="Common")
    assert (
        loaded.loadBalancingMode == "least-connections-member"
        and loaded.monitor.strip() == "/Common/gateway_icmp"
    )
    member = loaded.members_s.members.load(name="rras1:500", partition="Common")
    member.modify(session="user-disabled")
    assert member.session == "user-disabled"
    sdk.tm.sys.config.exec_cmd("save")
    virtual.delete()
    loaded.delete()
    assert not ltm.pools.pool.exists(name="ike500", partition="Common")


def test_f5_sdk_expands_subcollections_through_requests_params(sdk):
    """f5-sdk passes query options with ``requests_params``; what it loads then carries the inline items,
    and the loaded objects still work (f5-sdk keeps only the path of their selfLink)."""
    expand = {"params": "expandSubcollections=true"}
    ltm = sdk.tm.ltm
    pool = ltm.pools.pool.create(name="ike500", partition="Common")
    pool.members_s.members.create(name="10.0.0.11:500", partition="Common")
    pool.members_s.members.create(name="10.0.0.12:500", partition="Common")
    ltm.pools.pool.create(name="bare", partition="Common")
    ltm.virtuals.virtual.create(
        name="vs500",
        partition="Common",
        destination="192.0.2.10:500",
        ipProtocol="udp",
        pool="/Common/ike500",
    )
    pools = {p.name: p for p in ltm.pools.get_collection(requests_params=dict(expand))}
    members = pools["ike500"].membersReference["items"]
    assert [m["name"] for m in members] == ["10.0.0.11:500", "10.0.0.12:500"]
    assert all(m["kind"] == "tm:ltm:pool:members:membersstate" for m in members)
    assert "items" not in pools["bare"].membersReference
    loaded = ltm.pools.pool.load(name="ike500", partition="Common", requests_params=dict(expand))
    assert len(loaded.membersReference["items"]) == 2
    assert "expandSubcollections=true" in loaded.selfLink
    loaded.modify(description="expanded")  # PATCHes the object's own URL
    assert ltm.pools.pool.load(name="ike500", partition="Common").description == "expanded"
    virtual = ltm.virtuals.virtual.load(name="vs500", partition="Common", requests_params=dict(expand))
    assert [p["name"] for p in virtual.profilesReference["items"]] == ["udp"]
    assert "items" not in virtual.policiesReference
    nodes = ltm.nodes.get_collection(requests_params=dict(expand))
    assert sorted(n.name for n in nodes) == ["10.0.0.11", "10.0.0.12"]


def test_f5_sdk_sees_bigip_errors(sdk):
    from icontrol.exceptions import iControlUnexpectedHTTPError

    sdk.tm.ltm.nodes.node.create(name="n1", partition="Common", address="10.0.0.1")
    with pytest.raises(iControlUnexpectedHTTPError) as exc:
        sdk.tm.ltm.nodes.node.create(name="n1", partition="Common", address="10.0.0.1")
    assert exc.value.response.status_code == 409


def test_f5_sdk_transaction(sdk):
    from f5.bigip.contexts import TransactionContextManager

    tx = sdk.tm.transactions.transaction
    with TransactionContextManager(tx) as api:
        api.tm.ltm.nodes.node.create(name="tx1", partition="Common", address="10.0.0.51")
        api.tm.ltm.nodes.node.create(name="tx2", partition="Common", address="10.0.0.52")
    assert sdk.tm.ltm.nodes.node.exists(name="tx1", partition="Common")
    assert sdk.tm.ltm.nodes.node.exists(name="tx2", partition="Common")


def test_f5_sdk_provisions_the_sstp_objects(sdk, f5, tmp_path):
    cert_pem, key_pem, digest = _pem_pair()
    for name, data in (("vpn.crt", cert_pem), ("vpn.key", key_pem)):
        (tmp_path / name).write_bytes(data)
        sdk.shared.file_transfer.uploads.upload_file(str(tmp_path / name))
    # f5-sdk passes the hyphenated key through as given (its own docstring's form)
    for kind, name in ((sdk.tm.sys.crypto.keys, "vpn.key"), (sdk.tm.sys.crypto.certs, "vpn.crt")):
        kind.exec_cmd("install", **{"name": name, "from-local-file": f"/var/config/rest/downloads/{name}"})
    cert = sdk.tm.sys.crypto.certs.cert.load(name="vpn.crt", partition="Common")
    assert cert.fingerprint.replace(":", "").endswith(digest)
    ltm = sdk.tm.ltm
    monitor = ltm.monitor.https_s.https.create(
        name="sstp_https",
        partition="Common",
        defaultsFrom="/Common/https",
        send="HEAD /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\\r\\nHost: vpn\\r\\n\\r\\n",
        recv="401",
    )
    assert monitor.interval == 5
    ltm.persistence.ssls.ssl.create(name="sstp_ssl", partition="Common", defaultsFrom="/Common/ssl")
    ltm.persistence.source_addrs.source_addr.create(name="sstp_src", partition="Common")
    clientssl = ltm.profile.client_ssls.client_ssl.create(
        name="sstp_clientssl",
        partition="Common",
        certKeyChain=[{"name": "vpn", "cert": "/Common/vpn.crt", "key": "/Common/vpn.key"}],
    )
    assert clientssl.defaultsFrom == "/Common/clientssl"
    pool = ltm.pools.pool.create(name="sstp", partition="Common", monitor="/Common/sstp_https")
    pool.members_s.members.create(name="10.0.0.11:80", partition="Common")
    virtual = ltm.virtuals.virtual.create(
        name="sstp_vs",
        partition="Common",
        destination="192.0.2.10:443",
        ipProtocol="tcp",
        pool="/Common/sstp",
        persist=[{"name": "sstp_ssl", "partition": "Common", "tmDefault": "yes"}],
        fallbackPersistence="/Common/sstp_src",
        profiles=[
            {"name": "/Common/tcp", "context": "all"},
            {"name": "/Common/sstp_clientssl", "context": "clientside"},
        ],
    )
    loaded = virtual.profiles_s.get_collection()
    assert sorted(p.name for p in loaded) == ["sstp_clientssl", "tcp"]
    virtual.delete()
    pool.delete()
    clientssl.delete()
    sdk.tm.sys.crypto.certs.cert.load(name="vpn.crt", partition="Common").delete()
