"""The LoadMaster twin enforces users' permissions as the appliance does
(docs/kemp.md#least-privilege-account).

``bal`` has every permission; other local users the default read-only access plus their permissions (Real
Servers, Virtual Services, Certificate Creation...). A command the user's permissions do not allow answers
403 before it runs. Seeded: ``automation`` (the least-privilege set the project needs: ``vs,real,certs``),
``auditor`` (read-only), ``rs-operator`` (Real Servers only). Checked through a minimal classic-API client
and through Kemp's own python-kemptech-api. The 403's ``<Error>`` text and the API names other than
``root``/``vs`` are assumptions of the twin (marked ``assumed`` in the test names)."""

from __future__ import annotations

import pytest

from tests.e2e.certificates import certificate
from tests.emulators.kemp_access import RRAS, VIP, Kemp, fields, kemptech_loadmaster

LEAST = ("automation", "automation-pass")
AUDITOR = ("auditor", "auditor-pass")
RS_ONLY = ("rs-operator", "rs-operator-pass")
DENIED = "Permission Denied"


@pytest.fixture
def twin(twin_factory):
    return twin_factory("kemp")


def ikev2(kemp: Kemp) -> None:
    kemp.ok("addvs", vs=VIP, port=500, prot="udp", NickName="ours")
    kemp.ok("addrs", vs=VIP, port=500, prot="udp", rs=RRAS[0], rsport=500)


def test_the_least_privilege_account_does_everything_the_project_does(twin) -> None:
    lm = Kemp(twin, *LEAST)
    ikev2(lm)
    lm.ok(
        "modvs",
        vs=VIP,
        port=500,
        prot="udp",
        Transparent="Y",
        ForceL7="Y",
        Persist="src",
        PersistTimeout=1800,
    )
    lm.ok("addvs", vs=VIP, port=4500, prot="udp", Persist="src", PersistTimeout=1800)
    lm.ok("addrs", vs=VIP, port=4500, prot="udp", rs=RRAS[0], rsport=4500)
    index = fields(lm.ok("showvs", vs=VIP, port=4500, prot="udp"))["Index"]
    lm.ok("modvs", vs=VIP, port=500, prot="udp", FollowVSID=index)  # port following
    lm.ok("modrs", vs=VIP, port=500, prot="udp", rs=RRAS[0], rsport=500, Enable="N")  # a drain
    cert, key, _ = certificate("vpn.example.test", 2040)
    lm.ok("listcert")
    status, _ = lm.call("addcert", cert="sstp_1")  # no body: refused for the bundle, not the permission
    assert status == 422
    resp = lm.session.post(
        f"{lm.base}/access/addcert",
        params={"cert": "sstp_1"},
        data=(cert + key).encode(),
        auth=lm.auth,
        verify=lm.verify,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    lm.ok("modvs", vs=VIP, port=4500, prot="udp", SSLAcceleration="Y", CertFile="sstp_1")
    lm.ok("modvs", vs=VIP, port=4500, prot="udp", SSLAcceleration="N")
    lm.ok("delcert", cert="sstp_1")
    lm.ok("delrs", vs=VIP, port=500, prot="udp", rs=RRAS[0], rsport=500)
    lm.ok("delvs", vs=VIP, port=500, prot="udp")


def test_the_least_privilege_account_may_not_change_globals_users_or_restore(twin) -> None:
    lm = Kemp(twin, *LEAST)
    assert lm.fail("set", 403, param="nonlocalrs", value="yes") == DENIED
    assert lm.fail("useraddlocal", 403, user="other", password="other-pass1") == DENIED
    assert lm.fail("usersetperms", 403, user="automation", perms="root") == DENIED
    assert lm.fail("usershow", 403, user="automation") == DENIED  # not even its own entry (assumed)
    assert lm.fail("restore", 403, type=1) == DENIED
    assert fields(Kemp(twin).ok("get", param="nonlocalrs"))["nonlocalrs"] == "no"


def test_a_read_only_user_reads_everything_and_writes_nothing_403_assumed_text(twin) -> None:
    ikev2(Kemp(twin))
    ro = Kemp(twin, *AUDITOR)
    assert fields(ro.ok("showvs", vs=VIP, port=500, prot="udp"))["NickName"] == "ours"
    assert len(ro.ok("listvs").findall("VS")) == 1
    ro.ok("showrs", vs=VIP, port=500, prot="udp", rs=RRAS[0], rsport=500)
    ro.ok("listcert")
    ro.ok("get", param="version")
    assert ro.fail("addvs", 403, vs=VIP, port=4500, prot="udp") == DENIED
    assert ro.fail("modvs", 403, vs=VIP, port=500, prot="udp", NickName="theirs") == DENIED
    assert ro.fail("delvs", 403, vs=VIP, port=500, prot="udp") == DENIED
    assert ro.fail("modrs", 403, vs=VIP, port=500, prot="udp", rs=RRAS[0], Enable="N") == DENIED
    assert ro.fail("delcert", 403, cert="whatever") == DENIED  # refused before the name is looked at
    vs = Kemp(twin).ok("showvs", vs=VIP, port=500, prot="udp")
    assert fields(vs)["NickName"] == "ours" and len(Kemp(twin).ok("listvs").findall("VS")) == 1
    assert fields(vs.find("Rs"))["Enable"] == "Y"
    # an unknown command stays what it is for everyone
    assert ro.fail("nosuchcommand", 405) == "Unknown command"


def test_real_servers_only_drains_but_may_not_touch_a_virtual_service(twin) -> None:
    ikev2(Kemp(twin))
    rs = Kemp(twin, *RS_ONLY)
    rs.ok("modrs", vs=VIP, port=500, prot="udp", rs=RRAS[0], rsport=500, Enable="N")
    rs.ok("modrs", vs=VIP, port=500, prot="udp", rs=RRAS[0], rsport=500, Enable="Y")
    rs.ok("disablers", rs=RRAS[0])
    rs.ok("addrs", vs=VIP, port=500, prot="udp", rs=RRAS[1], rsport=500)
    assert rs.fail("modvs", 403, vs=VIP, port=500, prot="udp", PersistTimeout=600) == DENIED
    assert rs.fail("addvs", 403, vs=VIP, port=4500, prot="udp") == DENIED
    assert fields(rs.ok("showvs", vs=VIP, port=500, prot="udp"))["PersistTimeout"] == "0"


def test_json_api_answers_the_same_403(twin) -> None:
    body = {
        "cmd": "addvs",
        "vs": VIP,
        "port": 500,
        "prot": "udp",
        "apiuser": "auditor",
        "apipass": "auditor-pass",
    }
    resp = Kemp(twin).v2(body)
    assert resp.status_code == 403
    assert resp.json() == {"code": 403, "message": DENIED, "status": "fail"}


def test_an_api_key_carries_its_users_permissions(twin) -> None:
    ro = Kemp(twin, *AUDITOR)
    key = ro.ok("addapikey").findtext("key")
    keyed = Kemp(twin, password=None)
    assert keyed.fail("addvs", 403, vs=VIP, port=500, prot="udp", apikey=key) == DENIED
    keyed.ok("listvs", apikey=key)


def test_the_administrator_creates_an_account_with_exactly_the_documented_permissions(twin) -> None:
    bal = Kemp(twin)
    bal.ok("useraddlocal", user="pipeline", password="s3cret-pass", radius="n")
    assert bal.fail("useraddlocal", 422, user="pipeline", password="x") == "User already exists."
    new = Kemp(twin, "pipeline", "s3cret-pass")
    assert new.fail("addvs", 403, vs=VIP, port=500, prot="udp") == DENIED  # read-only until given more
    bal.ok("usersetperms", user="pipeline", perms="vs,real,certs")
    shown = bal.ok("usershow", user="pipeline").find("User")
    assert shown is not None and shown.findtext("Perms") == "certs,real,vs"
    listed = {u.findtext("Name"): u.findtext("Perms") for u in bal.ok("userlist").findall("User")}
    assert listed["pipeline"] == "certs,real,vs" and listed["auditor"] == "" and "bal" not in listed
    new.ok("addvs", vs=VIP, port=500, prot="udp")
    assert (
        bal.fail("usersetperms", 422, user="pipeline", perms="vs,everything")
        == "Invalid permission everything"
    )
    bal.ok("usersetperms", user="pipeline", perms="")
    assert new.fail("delvs", 403, vs=VIP, port=500, prot="udp") == DENIED
    bal.ok("userdellocal", user="pipeline")
    assert new.raw("listvs").status_code == 401


def test_all_permissions_is_root(twin) -> None:
    bal = Kemp(twin)
    bal.ok("usersetperms", user="auditor", perms="root")
    root = Kemp(twin, *AUDITOR)
    root.ok("set", param="nonlocalrs", value="yes")
    root.ok("usershow", user="auditor")


def test_python_kemptech_api_sees_the_403_as_the_appliance_sends_it(twin, monkeypatch) -> None:
    from python_kemptech_api.exceptions import KempTechApiException, UserAlreadyExistsException

    ro = kemptech_loadmaster(twin, monkeypatch, *AUDITOR)
    vs = ro.create_virtual_service(VIP, 500, "udp")
    with pytest.raises(KempTechApiException) as refused:
        vs.save()
    assert refused.value.status_code == 403 and str(refused.value) == DENIED
    assert ro.get_virtual_services() == []

    admin = kemptech_loadmaster(twin, monkeypatch)
    admin.add_local_user("pipeline", "s3cret-pass")
    with pytest.raises(UserAlreadyExistsException):
        admin.add_local_user("pipeline", "s3cret-pass")
    admin.set_user_perms("pipeline", ["vs", "real", "certs"])
    made = kemptech_loadmaster(twin, monkeypatch, "pipeline", "s3cret-pass").create_virtual_service(
        VIP, 500, "udp"
    )
    made.save()
    assert [v.port for v in ro.get_virtual_services()] == ["500"]
