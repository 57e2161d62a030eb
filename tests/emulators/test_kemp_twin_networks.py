"""The Kemp twin's network interfaces and the non-local real server rule (emulators/kemp/network.py).

A LoadMaster assigns only real servers on its local networks unless the request allows remote addresses
(``non_local=1``), which needs the global ``nonlocalrs``, and transparency cannot be used with non-local
real servers — so the AOVPN services, which are transparent, can only have local RRAS nodes.
"""

from __future__ import annotations

import pytest

from emulators.common import start_twin
from tests.emulators.kemp_access import RRAS, VIP, Kemp, fields, kemptech_loadmaster

REMOTE = "203.0.113.21"  # TEST-NET-3: on none of the default interfaces
NOT_PERMITTED = "Non-local real server not permitted"
NOT_TRANSPARENT = "Transparency cannot be used with non-local Real Servers"


@pytest.fixture
def twin(twin_factory):
    return twin_factory("kemp")  # the default interfaces


@pytest.fixture
def kemp(twin) -> Kemp:
    return Kemp(twin)


def add_vs(kemp: Kemp, port: int = 443, prot: str = "tcp", **params: object) -> str:
    return fields(kemp.ok("addvs", vs=VIP, port=port, prot=prot, **params))["Index"]


def rs_count(kemp: Kemp, index: str) -> str:
    return fields(kemp.ok("showvs", vs=index))["NumberOfRSs"]


def test_the_default_interfaces_hold_the_demo_and_test_networks(kemp):
    interfaces = [fields(i) for i in kemp.ok("showiface").findall("Interface")]
    assert [(i["Id"], i["IPAddress"]) for i in interfaces] == [
        ("0", "192.0.2.2/24"),
        ("1", "198.51.100.2/24"),
        ("2", "10.0.0.2/16"),
    ]
    assert [i["DefaultInterface"] for i in interfaces] == ["yes", "no", "no"]
    assert fields(kemp.ok("showiface", interface=2))["IPAddress"] == "10.0.0.2/16"
    assert kemp.fail("showiface", 422, interface=7)
    index = add_vs(kemp, 500, "udp", Transparent="Y")
    # the real servers the stacks and the e2e tests use are local: no non_local needed, transparency fine
    for address in (*RRAS, "10.0.0.61", "198.51.100.61", "198.51.100.71"):
        kemp.ok("addrs", vs=index, rs=address, rsport=500)
    assert rs_count(kemp, index) == "5"


def test_a_non_local_real_server_is_refused_without_non_local_and_the_global_setting(kemp):
    index = add_vs(kemp)
    assert fields(kemp.ok("get", param="nonlocalrs")) == {"nonlocalrs": "no"}
    assert kemp.fail("addrs", 422, vs=index, rs=REMOTE, rsport=443) == NOT_PERMITTED
    # non_local=1 alone is not enough while "Enable Non-Local Real Servers" is off
    assert kemp.fail("addrs", 422, vs=index, rs=REMOTE, rsport=443, non_local=1) == NOT_PERMITTED
    kemp.ok("set", param="nonlocalrs", value="yes")
    # the global setting alone is not enough either: the request must allow remote addresses
    assert kemp.fail("addrs", 422, vs=index, rs=REMOTE, rsport=443) == NOT_PERMITTED
    assert kemp.fail("addrs", 422, vs=index, rs=REMOTE, rsport=443, non_local=0) == NOT_PERMITTED
    assert rs_count(kemp, index) == "0"  # refusals change nothing
    rs = fields(kemp.ok("addrs", vs=index, rs=REMOTE, rsport=443, NON_LOCAL="Y").find("Rs"))
    assert (rs["Addr"], rs["Port"], rs["RsIndex"]) == (REMOTE, "443", "1")  # no RsIndex spent on refusals
    assert fields(kemp.ok("showrs", vs=index, rs=f"!{rs['RsIndex']}").find("Rs"))["Addr"] == REMOTE
    # a local one needs nothing, with or without non_local
    kemp.ok("addrs", vs=index, rs=RRAS[0], rsport=443)
    kemp.ok("addrs", vs=index, rs=RRAS[1], rsport=443, non_local=1)
    assert rs_count(kemp, index) == "3"


def test_non_local_real_servers_cannot_be_used_with_transparency(kemp):
    kemp.ok("set", param="nonlocalrs", value="yes")
    transparent = add_vs(kemp, 500, "udp", Transparent="Y")
    assert kemp.fail("addrs", 422, vs=transparent, rs=REMOTE, rsport=500, non_local=1) == NOT_TRANSPARENT
    layer4 = add_vs(kemp, 4500, "udp", ForceL4="Y", Transparent="N")  # layer 4 is always transparent
    assert fields(kemp.ok("showvs", vs=layer4))["Transparent"] == "Y"
    assert kemp.fail("addrs", 422, vs=layer4, rs=REMOTE, rsport=4500, non_local=1) == NOT_TRANSPARENT
    # a non-transparent service takes it; it cannot be made transparent afterwards, nor layer 4
    proxied = add_vs(kemp, 443, "tcp", Transparent="N")
    kemp.ok("addrs", vs=proxied, rs=REMOTE, rsport=443, non_local=1)
    assert kemp.fail("modvs", 422, vs=proxied, Transparent="Y", NickName="changed") == NOT_TRANSPARENT
    assert kemp.fail("modvs", 422, vs=proxied, ForceL4="Y") == NOT_TRANSPARENT
    vs = fields(kemp.ok("showvs", vs=proxied))
    assert (vs["Transparent"], vs["Layer"], "NickName" in vs) == ("N", "7", False)  # nothing changed
    assert fields(kemp.ok("modvs", vs=proxied, NickName="other"))["NickName"] == "other"
    # once the non-local server is gone, transparency is allowed again
    kemp.ok("delrs", vs=proxied, rs=REMOTE, rsport=443)
    assert fields(kemp.ok("modvs", vs=proxied, Transparent="Y"))["Transparent"] == "Y"


def test_the_transparent_aovpn_services_need_local_rras_nodes(kemp):
    """IKEv2 must see the client address (Transparent=Y): a remote RRAS node is refused even when allowed."""
    kemp.ok("set", param="nonlocalrs", value="yes")
    for port in (500, 4500):
        index = add_vs(kemp, port, "udp", Transparent="Y", Persist="src", PersistTimeout=1800)
        kemp.ok("addrs", vs=index, rs=RRAS[0], rsport=port)
        assert kemp.fail("addrs", 422, vs=index, rs=REMOTE, rsport=port, non_local=1) == NOT_TRANSPARENT


def test_modrs_keeps_the_address_so_a_local_real_server_stays_local(kemp):
    index = add_vs(kemp)
    rs = fields(kemp.ok("addrs", vs=index, rs=RRAS[0], rsport=443).find("Rs"))
    kemp.ok("modrs", vs=index, rs=f"!{rs['RsIndex']}", newport=8443, non_local=1, Weight=10)
    after = fields(kemp.ok("showrs", vs=index, rs=f"!{rs['RsIndex']}").find("Rs"))
    assert (after["Addr"], after["Port"], after["Weight"]) == (RRAS[0], "8443", "10")


def test_v2_refuses_a_non_local_real_server_with_the_same_text(kemp):
    index = add_vs(kemp)
    auth = {"apiuser": "bal", "apipass": "bal-pass"}
    resp = kemp.v2({"cmd": "addrs", "vs": index, "rs": REMOTE, "rsport": 443, **auth})
    assert resp.status_code == 422
    assert resp.json() == {"code": 422, "message": NOT_PERMITTED, "status": "fail"}
    kemp.v2({"cmd": "set", "param": "nonlocalrs", "value": True, **auth})
    ok = kemp.v2({"cmd": "addrs", "vs": index, "rs": REMOTE, "rsport": 443, "non_local": True, **auth})
    assert ok.status_code == 200 and ok.json()["Rs"][0]["Addr"] == REMOTE


def test_the_interfaces_are_set_where_the_twin_is_started(twin_factory):
    twin = twin_factory("kemp", local_networks=["172.16.5.1/24", "2001:db8::1/64"])
    kemp = Kemp(twin)
    assert [fields(i)["IPAddress"] for i in kemp.ok("showiface").findall("Interface")] == [
        "172.16.5.1/24",
        "2001:db8::1/64",
    ]
    index = add_vs(kemp)
    kemp.ok("addrs", vs=index, rs="172.16.5.20", rsport=443)
    kemp.ok("addrs", vs=index, rs="2001:db8::20", rsport=443)
    # the default networks are not local on this unit
    assert kemp.fail("addrs", 422, vs=index, rs=RRAS[0], rsport=443) == NOT_PERMITTED
    everything = Kemp(twin_factory("kemp", local_networks=["0.0.0.0/0", "::/0"]))
    index = add_vs(everything)
    for address in (REMOTE, RRAS[0], "2001:db8:ffff::1"):
        everything.ok("addrs", vs=index, rs=address, rsport=443)


def test_non_local_real_servers_need_non_local_and_the_global_setting(tls):
    twin = start_twin("kemp", tls=tls, local_networks=["10.0.0.0/16"])
    try:
        kemp = Kemp(twin)
        index = fields(kemp.ok("addvs", vs=VIP, port=443, prot="tcp"))["Index"]
        kemp.ok("addrs", vs=index, rs="10.0.5.5", rsport=443)
        assert kemp.fail("addrs", 422, vs=index, rs="198.51.100.11", rsport=443)
        assert kemp.fail("addrs", 422, vs=index, rs="198.51.100.11", rsport=443, non_local=1)
        kemp.ok("set", param="nonlocalrs", value="yes")
        kemp.ok("addrs", vs=index, rs="198.51.100.11", rsport=443, non_local=1)
    finally:
        twin.stop()


# -- the independent client: python-kemptech-api -------------------------------------------------------
@pytest.fixture
def loadmaster(twin, monkeypatch):
    return kemptech_loadmaster(twin, monkeypatch)


def test_kemptech_api_meets_the_non_local_rule(twin, loadmaster):
    kemptech = pytest.importorskip("python_kemptech_api")
    addresses = sorted(i.addr for i in loadmaster.get_interfaces())
    assert addresses == ["10.0.0.2/16", "192.0.2.2/24", "198.51.100.2/24"]
    vs = loadmaster.create_virtual_service(VIP, 443, "tcp")
    vs.transparent = "N"
    vs.save()
    remote = vs.create_real_server(REMOTE, 443)
    with pytest.raises(kemptech.exceptions.KempTechApiException, match=NOT_PERMITTED):
        remote.save()
    loadmaster.set_parameter("nonlocalrs", "yes")
    remote.non_local = "1"  # the library sends every attribute it holds: this is the addrs parameter
    remote.save()
    assert remote.rsindex is not None and remote.addr == REMOTE
    local = vs.create_real_server(RRAS[0], 443)
    local.save()
    assert sorted(rs.addr for rs in vs.get_real_servers()) == sorted([REMOTE, RRAS[0]])
    vs.transparent = "Y"
    with pytest.raises(kemptech.exceptions.KempTechApiException, match=NOT_TRANSPARENT):
        vs.save(update=True)
    assert fields(Kemp(twin).ok("showvs", vs=vs.index))["Transparent"] == "N"
