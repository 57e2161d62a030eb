"""The Kemp twin behaves like a LoadMaster REST API: the rules of docs/kemp.md#twin-fidelity-index."""

from __future__ import annotations

import re

import pytest
import requests
from defusedxml import ElementTree

from emulators.common import start_twin
from tests.emulators.kemp_access import RRAS, VIP, Kemp, fields, kemptech_loadmaster
from tests.module_twin import module_twin

shared_twin, twin = module_twin("kemp")


@pytest.fixture
def kemp(twin) -> Kemp:
    return Kemp(twin)


def add_ikev2(kemp: Kemp) -> tuple[str, str]:
    """The AOVPN IKEv2 pair: udp/500 + udp/4500 on one VIP, same RRAS servers, src persistence."""
    i500 = fields(kemp.ok("addvs", vs=VIP, port=500, prot="udp", Persist="src", PersistTimeout=3600))["Index"]
    i4500 = fields(kemp.ok("addvs", vs=VIP, port=4500, prot="udp", Persist="src", PersistTimeout=3600))[
        "Index"
    ]
    for ip in RRAS:
        kemp.ok("addrs", vs=i500, rs=ip, rsport=500)
        kemp.ok("addrs", vs=i4500, rs=ip, rsport=4500)
    return i500, i4500


# -- envelopes and status codes (docs/kemp.md#classic-api-commands-and-envelopes) ----------------------------
def test_addvs_returns_the_whole_vs_in_an_iso_8859_1_envelope(kemp):
    resp = kemp.raw("addvs", vs=VIP, port=443, prot="tcp", NickName="sstp-vs")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/xml")
    assert resp.content.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    root = ElementTree.fromstring(resp.content)
    assert (root.tag, root.get("stat"), root.get("code")) == ("Response", "200", "ok")
    data = root.find("Success/Data")
    assert data is not None
    vs = fields(data)
    assert vs["Index"] == "1" and vs["VSAddress"] == VIP and vs["VSPort"] == "443"
    assert vs["Protocol"] == "tcp" and vs["NickName"] == "sstp-vs" and vs["Status"] == "Down"
    assert "CheckUse1.1" in vs  # the literal dotted element name
    assert list(fields(data))[:4] == ["Status", "Index", "VSAddress", "VSPort"]


def test_command_only_replies_say_command_completed_ok(kemp):
    index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
    kemp.ok("addrs", vs=index, rs=RRAS[0], rsport=443)
    for command, params in (
        ("modrs", {"vs": index, "rs": RRAS[0], "rsport": 443, "Weight": 10}),
        ("delrs", {"vs": index, "rs": RRAS[0], "rsport": 443}),
        ("delvs", {"vs": index}),
    ):
        success = kemp.ok(command, **params)
        assert success.tag == "Success" and success.text == "Command completed ok"


def test_missing_mandatory_parameters_are_400_with_kemp_texts(kemp):
    assert kemp.fail("addvs", 400, port=443, prot="tcp") == "vs: Address Value missing"
    assert kemp.fail("addvs", 400, vs=VIP, prot="tcp") == "port: String Value missing"
    assert kemp.fail("addvs", 400, vs=VIP, port=443) == "prot: String Value missing"
    assert kemp.fail("showvs", 400) == "vs: Address Value missing"
    assert kemp.fail("get", 400) == "param: String Value missing"
    index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
    assert kemp.fail("addrs", 400, vs=index, rs=RRAS[0]) == "rsport: String Value missing"


def test_unknown_vs_is_422_not_200_with_an_error(kemp):
    assert kemp.fail("showvs", 422, vs=42) == "Unknown VS"
    assert kemp.fail("showvs", 422, vs=VIP, port=443, prot="tcp") == "Unknown VS"
    assert kemp.fail("delvs", 422, vs=7) == "Unknown VS"
    assert kemp.fail("modvs", 422, vs=7, Enable="N") == "Unknown VS"
    assert kemp.fail("addrs", 422, vs=7, rs=RRAS[0], rsport=443) == "Unknown VS"


def test_unknown_command_is_405(kemp):
    assert kemp.fail("modifyvs", 405, vs=1) == "Unknown command"


# -- identification (docs/kemp.md#addressing-virtual-and-real-servers) ---------------------------------------
def test_vs_by_index_or_triplet_and_bang_index_is_an_address(kemp):
    index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
    assert fields(kemp.ok("showvs", vs=index))["VSPort"] == "443"
    assert fields(kemp.ok("showvs", vs=VIP, port=443, prot="TCP"))["Index"] == index
    # vs=!n is parsed as an address, so the port is missing
    assert kemp.fail("showvs", 400, vs=f"!{index}") == "port: String Value missing"
    # the triplet is the identity: same address and port, other protocol, is another (unknown) VS
    assert kemp.fail("showvs", 422, vs=VIP, port=443, prot="udp") == "Unknown VS"


def test_rs_by_address_and_port_or_bang_rsindex(kemp):
    index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
    rs = fields(kemp.ok("addrs", vs=index, rs=RRAS[0], rsport=443).find("Rs"))
    rs_index = rs["RsIndex"]
    assert fields(kemp.ok("showrs", vs=index, rs=f"!{rs_index}").find("Rs"))["Addr"] == RRAS[0]
    assert fields(kemp.ok("showrs", vs=index, rs=RRAS[0], rsport=443).find("Rs"))["RsIndex"] == rs_index
    # without "!" the number is an address, not an index
    assert kemp.fail("showrs", 422, vs=index, rs=rs_index) == "Unknown RS"
    assert kemp.fail("showrs", 422, vs=index, rs=RRAS[0], rsport=444) == "Unknown RS"


# -- parameters: case, unknown names, booleans (docs/kemp.md#parameter-names, docs/kemp.md#booleans) ---------
def test_parameter_names_and_values_are_case_insensitive_unknown_names_ignored(kemp):
    vs = fields(
        kemp.ok(
            "addvs",
            VS=VIP,
            PORT=500,
            PROT="UDP",
            persist="SRC",
            PERSISTTIMEOUT=3600,
            sChEdUlE="WRR",
            NoSuchParameter="whatever",
        )
    )
    assert (vs["Protocol"], vs["Persist"], vs["PersistTimeout"], vs["Schedule"]) == (
        "udp",
        "src",
        "3600",
        "wrr",
    )
    assert "NoSuchParameter" not in vs
    mod = fields(kemp.ok("modvs", vs=vs["Index"], schedule="lc", alsoUnknown=1))
    assert mod["Schedule"] == "lc"


@pytest.mark.parametrize(
    ("value", "expected"), [("Y", "Y"), ("n", "N"), ("1", "Y"), ("0", "N"), ("yes", "Y"), ("N", "N")]
)
def test_booleans_accept_y_n_1_0_and_are_emitted_as_y_n(kemp, value, expected):
    index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
    assert fields(kemp.ok("modvs", vs=index, Enable=value))["Enable"] == expected


def test_invalid_values_are_refused_and_change_nothing(kemp):
    index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
    assert kemp.fail("modvs", 422, vs=index, Schedule="foo", NickName="changed")
    assert kemp.fail("modvs", 422, vs=index, Enable="maybe")
    assert kemp.fail("addvs", 422, vs=VIP, port=70000, prot="tcp")
    assert kemp.fail("addvs", 422, vs=VIP, port=443, prot="sctp")
    vs = fields(kemp.ok("showvs", vs=index))
    assert vs["Schedule"] == "rr" and "NickName" not in vs and vs["Enable"] == "Y"


# -- defaults, optional elements (docs/kemp.md#defaults-and-absent-elements) ---------------------------------
def test_absent_when_empty_elements(kemp):
    vs = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))
    for name in ("NickName", "Persist", "CheckUrl", "CheckHost", "CheckPattern", "DefaultGW", "CertFile"):
        assert name not in vs, name
    vs = fields(kemp.ok("modvs", vs=vs["Index"], NickName="x", CheckUrl="/sra", DefaultGW="10.0.0.1"))
    assert (vs["NickName"], vs["CheckUrl"], vs["DefaultGW"]) == ("x", "/sra", "10.0.0.1")
    vs = fields(kemp.ok("modvs", vs=vs["Index"], NickName=""))
    assert "NickName" not in vs


def test_defaults_depend_on_port_and_type(kemp):
    http = fields(kemp.ok("addvs", vs=VIP, port=80, prot="tcp"))
    assert (http["VStype"], http["CheckType"], http["Layer"]) == ("http", "http", "7")
    gen = fields(kemp.ok("addvs", vs=VIP, port=20001, prot="tcp"))
    assert (gen["VStype"], gen["CheckType"]) == ("gen", "tcp")
    assert gen["Idletime"] == "660" and gen["Enable"] == "Y" and gen["Schedule"] == "rr"
    assert gen["Transparent"] == "N" and gen["SubnetOriginating"] == "Y"
    assert fields(kemp.ok("modvs", vs=gen["Index"], Idletime=0))["Idletime"] == "660"
    udp = fields(kemp.ok("addvs", vs=VIP, port=500, prot="udp", VStype="http"))
    assert udp["VStype"] == "gen"  # UDP services are generic


def test_transparent_default_follows_the_global_setting(kemp):
    kemp.ok("set", param="transparent", value="yes")
    assert fields(kemp.ok("get", param="transparent")) == {"transparent": "yes"}
    assert fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Transparent"] == "Y"
    kemp.ok("set", param="Transparent", value="0")
    assert fields(kemp.ok("addvs", vs=VIP, port=8443, prot="tcp"))["Transparent"] == "N"


def test_getall_and_read_only_version(kemp):
    params = fields(kemp.ok("getall"))
    assert params["enableapi"] == "yes" and params["version"].startswith("7.2.")
    assert kemp.fail("set", 422, param="version", value="1.0")
    assert kemp.fail("get", 422, param="nosuchparam")
    assert kemp.fail("set", 400, param="transparent") == "value: String Value missing"


# -- layer coupling (docs/kemp.md#layer-4-and-layer-7) -------------------------------------------------------
def test_force_l4_force_l7_and_layer_are_coupled(kemp):
    gen = fields(kemp.ok("addvs", vs=VIP, port=500, prot="udp", Transparent="N"))
    assert (gen["ForceL7"], gen["ForceL4"], gen["Layer"]) == ("Y", "N", "7")
    l4 = fields(kemp.ok("modvs", vs=gen["Index"], ForceL4=1))
    assert (l4["ForceL7"], l4["ForceL4"], l4["Layer"]) == ("N", "Y", "4")
    assert l4["Transparent"] == "Y"  # layer 4 is always transparent
    l7 = fields(kemp.ok("modvs", vs=gen["Index"], ForceL7="Y"))
    assert (l7["ForceL4"], l7["Layer"], l7["Transparent"]) == ("N", "7", "N")
    # non-generic types are always layer 7, whatever is asked
    http = fields(kemp.ok("addvs", vs=VIP, port=80, prot="tcp", ForceL4="Y"))
    assert (http["ForceL7"], http["Layer"]) == ("Y", "7")
    # cookie persistence makes Force L4 disappear
    tcp = fields(kemp.ok("addvs", vs=VIP, port=20001, prot="tcp", ForceL4="Y"))
    assert tcp["Layer"] == "4"
    assert fields(kemp.ok("modvs", vs=tcp["Index"], Persist="cookie"))["Layer"] == "7"


# -- persistence (docs/kemp.md#persistence-timeout) ----------------------------------------------------------
def test_persist_timeout_quirks(kemp):
    index = fields(kemp.ok("addvs", vs=VIP, port=500, prot="udp"))["Index"]
    vs = fields(kemp.ok("modvs", vs=index, PersistTimeout=30))
    assert vs["PersistTimeout"] == "0" and "Persist" not in vs  # 1-59 stored as 0
    vs = fields(kemp.ok("modvs", vs=index, PersistTimeout=120))
    assert (vs["Persist"], vs["PersistTimeout"]) == ("src", "120")  # >=60 silently enables src
    vs = fields(kemp.ok("modvs", vs=index, Persist="cookie", Cookie="ASPSESSION"))
    assert (vs["Persist"], vs["Cookie"]) == ("cookie", "ASPSESSION")
    vs = fields(kemp.ok("modvs", vs=index, Persist="", PersistTimeout=0))
    assert "Persist" not in vs and vs["PersistTimeout"] == "0"  # the way to turn persistence off
    assert vs["Cookie"] == "ASPSESSION"  # stale cookie name survives
    vs = fields(kemp.ok("modvs", vs=index, Persist="src", PersistTimeout=3600))
    assert vs["Persist"] == "src"
    assert "Persist" not in fields(kemp.ok("modvs", vs=index, Persist="none"))


# -- SSL (docs/kemp.md#ssl-acceleration-and-certificates) ----------------------------------------------------
def test_ssl_acceleration_and_certfile(kemp):
    index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
    vs = fields(kemp.ok("modvs", vs=index, SSLAcceleration="Y"))
    assert vs["SSLAcceleration"] == "Y" and re.fullmatch(r"[0-9a-f]{32}", vs["CertFile"])
    assert kemp.fail("modvs", 422, vs=index, CertFile="vpn.example.com").startswith("Unknown certificate")
    # a certificate is installed by POSTing its PEM and key to addcert, then named in CertFile
    import trustme

    leaf = trustme.CA().issue_cert("vpn.example.com")
    bundle = leaf.cert_chain_pems[0].bytes() + leaf.private_key_pem.bytes()
    resp = kemp.session.post(
        f"{kemp.base}/access/addcert",
        params={"cert": "vpn.example.com"},
        data=bundle,
        auth=kemp.auth,
        verify=kemp.verify,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert [c.findtext("name") for c in kemp.ok("listcert").findall("cert")] == ["vpn.example.com"]
    assert kemp.fail("addcert", 422, cert="vpn.example.com") == "Certificate already exists"
    vs = fields(kemp.ok("modvs", vs=index, CertFile="vpn.example.com"))
    assert vs["CertFile"] == "vpn.example.com" and vs["Layer"] == "7"
    assert kemp.fail("delcert", 422, cert="vpn.example.com").endswith("in use by a Virtual Service")
    vs = fields(kemp.ok("modvs", vs=index, SSLAcceleration="N"))
    assert vs["SSLAcceleration"] == "N" and "CertFile" not in vs
    assert kemp.fail("modvs", 422, vs=index, AllowHTTP2="Y")  # needs SSL acceleration
    kemp.ok("delcert", cert="vpn.example.com")
    assert kemp.ok("listcert").findall("cert") == []


# -- deletes cascade (docs/kemp.md#deletes-cascade) ----------------------------------------------------------
def test_deleting_a_vs_deletes_its_real_servers(kemp):
    index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
    rs_index = fields(kemp.ok("addrs", vs=index, rs=RRAS[0], rsport=443).find("Rs"))["RsIndex"]
    kemp.ok("delvs", vs=VIP, port=443, prot="tcp")
    assert kemp.fail("showrs", 422, vs=index, rs=f"!{rs_index}") == "Unknown VS"
    again = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))
    assert again["NumberOfRSs"] == "0"
    assert kemp.fail("showrs", 422, vs=again["Index"], rs=f"!{rs_index}") == "Unknown RS"


# -- indexes (docs/kemp.md#indexes-and-renumbering) ----------------------------------------------------------
def test_index_is_next_at_the_end_and_rs_index_is_global(twin, kemp):
    indexes = [fields(kemp.ok("addvs", vs=VIP, port=p, prot="tcp"))["Index"] for p in (443, 8443, 9443)]
    assert indexes == ["1", "2", "3"]
    kemp.ok("delvs", vs=2)
    assert fields(kemp.ok("addvs", vs=VIP, port=10443, prot="tcp"))["Index"] == "4"
    rs_a = fields(kemp.ok("addrs", vs=1, rs=RRAS[0], rsport=443).find("Rs"))
    rs_b = fields(kemp.ok("addrs", vs=3, rs=RRAS[0], rsport=443).find("Rs"))
    assert (rs_a["RsIndex"], rs_b["RsIndex"]) == ("1", "2")  # global counter, not per VS
    assert (rs_a["VSIndex"], rs_b["VSIndex"]) == ("1", "3")
    # a global change renumbers the VSs (twin hook); RsIndex never changes
    kemp.ok("modvs", vs=4, FollowVSID=0)
    mapping = twin.admin()._call("POST", "renumber")
    assert mapping == {"1": 1, "3": 2, "4": 3}
    listed = kemp.ok("listvs").findall("VS")
    assert [fields(v)["Index"] for v in listed] == ["1", "2", "3"]
    assert [fields(v)["VSPort"] for v in listed] == ["443", "9443", "10443"]
    assert fields(kemp.ok("showrs", vs=2, rs="!2").find("Rs"))["VSIndex"] == "2"


def test_listvs_lists_every_vs_with_its_real_servers(kemp):
    add_ikev2(kemp)
    data = kemp.ok("listvs")
    services = data.findall("VS")
    assert [fields(v)["VSPort"] for v in services] == ["500", "4500"]
    assert [fields(r)["Addr"] for r in services[0].findall("Rs")] == list(RRAS)
    assert fields(services[1])["NumberOfRSs"] == "2"


# -- port following (docs/kemp.md#port-following) ------------------------------------------------------------
def test_port_following_is_one_directional_and_needs_matching_services(kemp):
    i500, i4500 = add_ikev2(kemp)
    vs = fields(kemp.ok("modvs", vs=i500, FollowVSID=i4500))
    assert vs["FollowVSID"] == i4500
    assert fields(kemp.ok("showvs", vs=i4500))["FollowVSID"] == "0"  # not mirrored
    kemp.ok("modvs", vs=i4500, FollowVSID=i500)
    assert fields(kemp.ok("showvs", vs=i4500))["FollowVSID"] == i500
    # different persistence: refused, nothing changed
    other = fields(kemp.ok("addvs", vs=VIP, port=1701, prot="udp", Persist="src", PersistTimeout=600))
    for ip in RRAS:
        kemp.ok("addrs", vs=other["Index"], rs=ip, rsport=1701)
    assert "Port following" in kemp.fail("modvs", 422, vs=other["Index"], FollowVSID=i500)
    assert fields(kemp.ok("showvs", vs=other["Index"]))["FollowVSID"] == "0"
    # different real servers: refused
    kemp.ok("modvs", vs=other["Index"], PersistTimeout=3600)
    kemp.ok("delrs", vs=other["Index"], rs=RRAS[1], rsport=1701)
    assert "Port following" in kemp.fail("modvs", 422, vs=other["Index"], FollowVSID=i500)
    # unknown target and self
    assert kemp.fail("modvs", 422, vs=i500, FollowVSID=99) == "Unknown VS"
    assert kemp.fail("modvs", 422, vs=i500, FollowVSID=i500)
    # deleting the followed VS leaves the follower following nothing
    kemp.ok("delvs", vs=i4500)
    assert fields(kemp.ok("showvs", vs=i500))["FollowVSID"] == "0"


# -- duplicates and real servers ---------------------------------------------------------------------------
def test_duplicate_vs_and_rs_are_refused(kemp):
    index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
    assert kemp.fail("addvs", 422, vs=VIP, port=443, prot="TCP")
    assert fields(kemp.ok("addvs", vs=VIP, port=443, prot="udp"))["Index"] == "2"
    kemp.ok("addrs", vs=index, rs=RRAS[0], rsport=443)
    assert kemp.fail("addrs", 422, vs=index, rs=RRAS[0], rsport=443)
    kemp.ok("addrs", vs=index, rs=RRAS[0], rsport=8443)  # same IP, other port: fine
    assert fields(kemp.ok("showvs", vs=index))["NumberOfRSs"] == "2"
    assert kemp.fail("modrs", 422, vs=index, rs=RRAS[0], rsport=8443, newport=443)
    other = fields(kemp.ok("addvs", vs=VIP, port=8443, prot="tcp"))["Index"]
    assert kemp.fail("modvs", 422, vs=other, VSPort=443)


def test_real_server_defaults_addrs_ignores_forward_modrs_changes(kemp):
    index = fields(kemp.ok("addvs", vs=VIP, port=500, prot="udp", ForceL4="Y"))["Index"]
    rs = fields(kemp.ok("addrs", vs=index, rs=RRAS[0], rsport=500, Forward="route", weight=50).find("Rs"))
    assert (rs["Forward"], rs["Weight"], rs["Limit"], rs["Enable"], rs["Critical"]) == (
        "nat",
        "50",
        "0",
        "Y",
        "N",
    )
    kemp.ok("modrs", vs=index, rs=f"!{rs['RsIndex']}", Forward="route", Enable="N", newport=501, Bogus=1)
    after = fields(kemp.ok("showrs", vs=index, rs=f"!{rs['RsIndex']}").find("Rs"))
    assert (after["Forward"], after["Enable"], after["Port"], after["Addr"]) == ("route", "N", "501", RRAS[0])
    assert kemp.fail("modrs", 422, vs=index, rs=f"!{rs['RsIndex']}", Weight=0)


def test_disablers_and_enablers_act_on_every_vs(kemp):
    i500, i4500 = add_ikev2(kemp)
    kemp.ok("disablers", rs=RRAS[0])
    for index, port in ((i500, 500), (i4500, 4500)):
        assert fields(kemp.ok("showrs", vs=index, rs=RRAS[0], rsport=port).find("Rs"))["Enable"] == "N"
        assert fields(kemp.ok("showrs", vs=index, rs=RRAS[1], rsport=port).find("Rs"))["Enable"] == "Y"
    kemp.ok("enablers", rs=RRAS[0])
    assert fields(kemp.ok("showrs", vs=i500, rs=RRAS[0], rsport=500).find("Rs"))["Enable"] == "Y"
    assert kemp.fail("disablers", 422, rs="10.9.9.9") == "Unknown RS"


# -- authentication and API enablement (docs/kemp.md#status-codes-and-error-texts) ---------------------------
def test_bad_or_missing_credentials_are_a_plain_401(twin):
    for client in (Kemp(twin, password=None), Kemp(twin, password="wrong"), Kemp(twin, user="nobody")):
        resp = client.raw("listvs")
        assert resp.status_code == 401
        assert b"<Response" not in resp.content and resp.text.strip() == "Unauthorized"
    assert Kemp(twin, "automation", "automation-pass").ok("listvs").tag == "Data"


def test_api_key_auth_instead_of_basic(twin, kemp):
    key = kemp.ok("addapikey").findtext("key")
    assert key
    anonymous = Kemp(twin, password=None)
    assert anonymous.ok("listvs", apikey=key).tag == "Data"
    assert [k.text for k in kemp.ok("listapikeys").findall("key")] == [key]
    kemp.ok("delapikey", key=key)
    assert anonymous.raw("listvs", apikey=key).status_code == 401


def test_api_disabled_answers_404_html_until_reenabled(twin, kemp):
    kemp.ok("set", param="enableapi", value="no")
    resp = kemp.raw("get", param="version")
    assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("text/html")
    assert b"<Response" not in resp.content
    v2 = kemp.v2({"cmd": "listvs", "apiuser": "bal", "apipass": "bal-pass"})
    assert v2.status_code == 404 and v2.headers["Content-Type"].startswith("text/html")
    twin.admin()._call("PUT", "api", {"enabled": True})
    assert fields(kemp.ok("get", param="enableapi")) == {"enableapi": "yes"}


def test_form_encoded_post_is_accepted(twin, kemp):
    resp = requests.post(
        f"{twin.url}/access/addvs",
        data={"vs": VIP, "port": "443", "prot": "tcp", "NickName": "posted"},
        auth=("bal", "bal-pass"),
        verify=str(twin.tls.ca_path),
        timeout=10,
    )
    assert resp.status_code == 200
    assert fields(kemp.ok("showvs", vs=1))["NickName"] == "posted"


# -- persistence of configuration (docs/kemp.md#configuration-persistence) and the request log ---------------
def test_changes_persist_immediately_and_survive_reboot(twin, kemp):
    add_ikev2(kemp)
    kemp.ok("modvs", vs=1, NickName="aovpn")
    admin = twin.admin()
    assert admin.state()["unsaved_changes"] is False  # no save step on a LoadMaster
    admin.reboot()
    vs = fields(kemp.ok("showvs", vs=1))
    assert vs["NickName"] == "aovpn" and vs["NumberOfRSs"] == "2"
    # a failed command changes nothing
    assert kemp.fail("addrs", 422, vs=1, rs=RRAS[0], rsport=500)
    assert fields(kemp.ok("showvs", vs=1))["NumberOfRSs"] == "2"


def test_saved_configuration_survives_a_twin_restart(tls, tmp_path):
    first = start_twin("kemp", tls=tls, data_dir=tmp_path)
    try:
        Kemp(first).ok("addvs", vs=VIP, port=443, prot="tcp", NickName="kept")
    finally:
        first.stop()
    second = start_twin("kemp", tls=tls, data_dir=tmp_path)
    try:
        assert fields(Kemp(second).ok("showvs", vs=1))["NickName"] == "kept"
    finally:
        second.stop()


def test_writes_are_logged_by_command_name(twin, kemp):
    admin = twin.admin()
    admin.clear_log()
    kemp.ok("addvs", vs=VIP, port=443, prot="tcp")
    kemp.ok("showvs", vs=1)
    kemp.ok("listvs")
    kemp.fail("addvs", 422, vs=VIP, port=443, prot="tcp")
    kemp.ok("modvs", vs=1, Enable="N")
    kemp.ok("set", param="dropatdrainend", value="yes")
    entries = admin.log()
    assert [(e["method"], e["command"], e["write"]) for e in entries] == [
        ("GET", "addvs", True),
        ("GET", "showvs", False),
        ("GET", "listvs", False),
        ("GET", "addvs", False),
        ("GET", "modvs", True),
        ("GET", "set", True),
    ]
    assert admin.counters()["writes"] == 3


def test_backup_and_restore_round_trip(twin, kemp):
    add_ikev2(kemp)
    backup = kemp.raw("backup")
    assert backup.status_code == 200 and backup.headers["Content-Type"] == "application/octet-stream"
    kemp.ok("delvs", vs=1)
    kemp.ok("delvs", vs=2)
    resp = requests.post(
        f"{twin.url}/access/restore",
        params={"type": 2},
        data=backup.content,
        auth=("bal", "bal-pass"),
        verify=str(twin.tls.ca_path),
        timeout=10,
    )
    assert resp.status_code == 200
    assert [fields(v)["VSPort"] for v in kemp.ok("listvs").findall("VS")] == ["500", "4500"]


def test_injected_connection_resets_reach_the_client(twin, kemp):
    twin.admin().add_fault(path="^/access/listvs$", action="reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        kemp.raw("listvs")
    assert kemp.ok("listvs").tag == "Data"


# -- JSON API v2 (docs/kemp.md#json-api-v2) ------------------------------------------------------------------
def test_v2_flattens_vs_fields_and_types_values(kemp):
    auth = {"apiuser": "bal", "apipass": "bal-pass"}
    resp = kemp.v2(
        {
            "cmd": "addvs",
            "vs": VIP,
            "port": 500,
            "prot": "udp",
            "Enable": True,
            "PersistTimeout": "3600",
            **auth,
        }
    )
    assert resp.status_code == 200
    vs = resp.json()
    assert (vs["code"], vs["status"]) == (200, "ok")
    assert vs["Index"] == 1 and vs["Layer"] == 7 and vs["FollowVSID"] == 0 and vs["Idletime"] == 660
    assert vs["VSPort"] == "500" and vs["PersistTimeout"] == "3600" and vs["CheckPort"] == "0"
    assert vs["SSLRewrite"] == "0" and vs["TlsType"] == "0" and vs["ErrorCode"] == "0"
    assert vs["Enable"] is True and vs["ForceL4"] is False
    assert vs["Status"] == "Down"  # VS status beside the envelope status
    rs = kemp.v2({"cmd": "addrs", "vs": "1", "rs": RRAS[0], "rsport": 500, **auth}).json()
    assert isinstance(rs["Rs"], list) and len(rs["Rs"]) == 1
    assert rs["Rs"][0]["Port"] == 500 and rs["Rs"][0]["Weight"] == 1000 and rs["Rs"][0]["Enable"] is True
    listed = kemp.v2({"cmd": "listvs", **auth}).json()
    assert [v["Index"] for v in listed["VS"]] == [1] and listed["status"] == "ok"
    done = kemp.v2({"cmd": "modrs", "vs": 1, "rs": "!1", "Enable": False, **auth}).json()
    assert done == {"code": 200, "message": "Command completed ok", "status": "ok"}
    assert kemp.v2({"cmd": "showrs", "vs": 1, "rs": "!1", **auth}).json()["Rs"][0]["Enable"] is False


def test_v2_errors_and_authentication(twin, kemp):
    auth = {"apiuser": "bal", "apipass": "bal-pass"}
    resp = kemp.v2({"cmd": "showvs", "vs": "9", **auth})
    assert resp.status_code == 422
    assert resp.json() == {"code": 422, "message": "Unknown VS", "status": "fail"}
    bad = kemp.v2({"cmd": "listvs", "apiuser": "bal", "apipass": "nope"})
    assert bad.status_code == 401 and bad.headers["Content-Type"].startswith("text/html")
    key = kemp.ok("addapikey").findtext("key")
    # apikey wins over apiuser/apipass
    assert kemp.v2({"cmd": "listvs", "apikey": key, "apiuser": "bal", "apipass": "nope"}).status_code == 200
    assert kemp.v2({"cmd": "listvs", "apikey": "wrong", **auth}).status_code == 401
    keys = kemp.v2({"cmd": "listapikeys", **auth}).json()
    assert keys["apikeys"] == [key]


# -- the AOVPN flow end to end ------------------------------------------------------------------------------
def test_aovpn_ikev2_and_sstp_services(kemp):
    i500, i4500 = add_ikev2(kemp)
    kemp.ok("modvs", vs=VIP, port=500, prot="udp", FollowVSID=i4500)
    kemp.ok("modvs", vs=VIP, port=4500, prot="udp", FollowVSID=i500)
    sstp = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp", Persist="src", PersistTimeout=3600))
    for ip in RRAS:
        kemp.ok("addrs", vs=sstp["Index"], rs=ip, rsport=443)
    services = {fields(v)["VSPort"]: v for v in kemp.ok("listvs").findall("VS")}
    assert fields(services["500"])["FollowVSID"] == i4500
    assert fields(services["4500"])["FollowVSID"] == i500
    for port, vs in services.items():
        f = fields(vs)
        assert f["Status"] == "Up" and f["Persist"] == "src" and f["PersistTimeout"] == "3600", port
        assert sorted(fields(r)["Addr"] for r in vs.findall("Rs")) == sorted(RRAS)


# -- an independent client: Kemp's python-kemptech-api (installed by requirements-extra.sh) ----------------
@pytest.fixture
def loadmaster(twin, monkeypatch):
    return kemptech_loadmaster(twin, monkeypatch)


def test_kemptech_api_builds_the_ikev2_services(twin, loadmaster):
    assert loadmaster.get_parameter("version").startswith("7.2.")
    loadmaster.set_parameter("dropatdrainend", "yes")
    assert loadmaster.get_all_parameters()["dropatdrainend"] == "yes"
    created = []
    for port in (500, 4500):
        vs = loadmaster.create_virtual_service(VIP, port, "udp")
        vs.persist = "src"
        vs.persisttimeout = "3600"
        vs.nickname = f"ikev2-{port}"
        vs.save()
        assert vs.index is not None and vs.persist == "src"
        for ip in RRAS:
            rs = vs.create_real_server(ip, port)
            rs.weight = 500
            rs.save()
            assert rs.rsindex is not None and rs.weight == "500"
        created.append(vs)
    services = loadmaster.get_virtual_services()
    assert sorted(int(v.port) for v in services) == [500, 4500]
    first = loadmaster.get_virtual_service(index=created[0].index)
    assert first.nickname == "ikev2-500" and int(first.persisttimeout) == 3600
    assert sorted(rs.addr for rs in first.get_real_servers()) == sorted(RRAS)
    first.followvsid = created[1].index
    first.save(update=True)
    # the library has no FollowVSID attribute of its own, but sends it with modvs; read it back directly
    assert fields(Kemp(twin).ok("showvs", vs=created[0].index))["FollowVSID"] == created[1].index
    # the library's save() sends every known attribute back; nothing it sends is refused
    assert all(e["status"] == 200 for e in twin.admin().log())


def test_kemptech_api_updates_and_deletes(twin, loadmaster):
    kemptech = pytest.importorskip("python_kemptech_api")
    vs = loadmaster.create_virtual_service(VIP, 443, "tcp")
    vs.save()
    rs = vs.create_real_server(RRAS[0], 443)
    rs.save()
    rs.weight = 10
    rs.enable = "N"
    rs.save(update=True)
    again = vs.get_real_server(RRAS[0], 443)
    assert (again.weight, again.enable) == ("10", "N")
    vs.persist = None  # the library's way to turn persistence off: persist="" + persisttimeout=0
    vs.save(update=True)
    assert vs.persist is None and vs.persisttimeout is None  # the library maps "0" to None
    assert "Persist" not in fields(Kemp(twin).ok("showvs", vs=vs.index))
    rs.delete()
    vs.delete()
    with pytest.raises(kemptech.exceptions.KempTechApiException):
        loadmaster.get_virtual_service(index=vs.index)
    wrong = kemptech.LoadMaster("127.0.0.1", "bal", "wrong", port=twin.port)
    with pytest.raises(kemptech.exceptions.UnauthorizedAccessError):
        wrong.get_virtual_services()
