"""User roles on the BIG-IP twin (docs/f5.md#least-privilege-account): each user's role per partition decides
what it may write, and a refusal is mcpd's (01070822 / 01070824, HTTP 400) or restjavad's 401, as the device
answers. f5-sdk, an independent client, drives the users where it can."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulators.bigip.rest import ADMIN, Rest, error, ikev2_objects, ok, pem_pair

READER = ("reader", "reader-pass")
TENANT = ("tenant", "tenant-pass")


def sdk_as(twin: Any, creds: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    pytest.importorskip("f5.bigip")
    from f5.bigip import ManagementRoot

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return ManagementRoot(
        "127.0.0.1", *creds, port=twin.port, token=True, verify=str(twin.tls.ca_path), timeout=10
    )


def refusal(exc: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    body: dict[str, Any] = exc.value.response.json()
    return body


def test_the_automation_user_as_manager_of_common_does_everything_the_project_does(f5, sdk):
    ltm = sdk.tm.ltm
    ltm.nodes.node.create(name="rras1", partition="Common", address="10.0.0.11")
    pool = ltm.pools.pool.create(name="ike500", partition="Common", monitor="/Common/gateway_icmp")
    member = pool.members_s.members.create(name="rras1:500", partition="Common")
    virtual = ltm.virtuals.virtual.create(
        name="vs500",
        partition="Common",
        destination="192.0.2.10:500",
        ipProtocol="udp",
        pool="/Common/ike500",
    )
    member.modify(session="user-disabled", state="user-up")  # a drain
    rest = Rest(f5)
    cert, key, _ = pem_pair()
    for kind, data in (("cert", cert), ("key", key)):
        ok(_upload(rest, f"vpn.{kind}", data))
        ok(
            rest(
                "POST",
                f"/mgmt/tm/sys/crypto/{kind}",
                {
                    "command": "install",
                    "name": f"/Common/vpn.{kind}",
                    "from-local-file": f"/var/config/rest/downloads/vpn.{kind}",
                },
            )
        )
    ok(rest("POST", "/mgmt/tm/sys/config", {"command": "save"}))
    ok(rest("POST", "/mgmt/tm/cm", {"command": "run", "utilCmdArgs": "config-sync to-group aovpn-failover"}))
    virtual.delete()
    pool.delete()
    assert not ltm.pools.pool.exists(name="ike500", partition="Common")


def _upload(rest: Rest, name: str, data: bytes) -> Any:
    import requests

    return requests.post(
        f"{rest.url}/mgmt/shared/file-transfer/uploads/{name}",
        data=data,
        headers={
            "X-F5-Auth-Token": rest.token,
            "Content-Type": "application/octet-stream",
            "Content-Range": f"0-{len(data) - 1}/{len(data)}",
        },
        verify=rest.verify,
        timeout=10,
    )


def test_a_guest_reads_everything_and_every_write_is_refused_with_mcpd_01070822(f5, monkeypatch):
    ikev2_objects(Rest(f5))
    sdk = sdk_as(f5, READER, monkeypatch)
    from icontrol.exceptions import iControlUnexpectedHTTPError

    assert (
        sdk.tm.ltm.pools.pool.load(name="ike500", partition="Common").monitor.strip()
        == "/Common/gateway_icmp"
    )
    with pytest.raises(iControlUnexpectedHTTPError) as exc:
        sdk.tm.ltm.pools.pool.create(name="mine", partition="Common")
    assert exc.value.response.status_code == 400
    assert refusal(exc) == {
        "code": 400,
        "message": "01070822:3: Access Denied: user (reader) does not have create access to object (pool)",
        "errorStack": [],
        "apiError": 3,
    }
    with pytest.raises(iControlUnexpectedHTTPError) as exc:
        sdk.tm.ltm.pools.pool.load(name="ike500", partition="Common").modify(description="x")
    assert "does not have modify access to object (pool)" in refusal(exc)["message"]
    with pytest.raises(iControlUnexpectedHTTPError) as exc:
        sdk.tm.ltm.virtuals.virtual.load(name="vs500", partition="Common").delete()
    assert "does not have delete access to object (virtual_server)" in refusal(exc)["message"]
    reader = Rest(f5, READER)
    error(reader("POST", "/mgmt/tm/sys/config", {"command": "save"}), 400, "01070822:3: Access Denied")
    # nothing was written
    admin = Rest(f5, ADMIN)
    assert admin("GET", "/mgmt/tm/ltm/pool/~Common~mine").status_code == 404
    assert ok(admin("GET", "/mgmt/tm/ltm/virtual/~Common~vs500"))["name"] == "vs500"


def test_a_guest_upload_is_refused_by_restjavad_with_its_401(f5):
    resp = _upload(Rest(f5, READER), "vpn.crt", b"x")
    assert resp.status_code == 401
    body = resp.json()
    assert body["kind"] == ":resterrorresponse"
    assert body["message"].startswith(
        "Authorization failed: user=https://localhost/mgmt/shared/authz/users/reader "
        "resource=/mgmt/shared/file-transfer/uploads/vpn.crt verb=POST"
    )


def test_a_manager_of_another_partition_cannot_write_common_01070824(f5, monkeypatch):
    ikev2_objects(Rest(f5))
    sdk = sdk_as(f5, TENANT, monkeypatch)
    from icontrol.exceptions import iControlUnexpectedHTTPError

    # it reads Common (a manager reads every object) but writes nothing there
    member = sdk.tm.ltm.pools.pool.load(name="ike500", partition="Common").members_s.members.load(
        name="rras1:500", partition="Common"
    )
    with pytest.raises(iControlUnexpectedHTTPError) as exc:
        member.modify(session="user-disabled", state="user-up")
    assert refusal(exc)["message"] == (
        "01070824:3: Write Access Denied: user (tenant) does not have update access to partition (Common), "
        'check your current "update/write" partition settings'
    )
    with pytest.raises(iControlUnexpectedHTTPError) as exc:
        sdk.tm.ltm.nodes.node.create(name="n", partition="Common", address="10.0.0.99")
    assert refusal(exc)["message"].startswith("01070824:3: Write Access Denied: user (tenant)")


def test_an_operator_made_through_the_user_api_only_enables_and_disables(f5):
    admin = Rest(f5, ADMIN)
    ikev2_objects(Rest(f5))
    made = ok(
        admin(
            "POST",
            "/mgmt/tm/auth/user",
            {
                "name": "oper",
                "password": "oper-pass",
                "partitionAccess": [{"name": "Common", "role": "operator"}],
            },
        )
    )
    assert made["kind"] == "tm:auth:user:userstate"
    assert "oper-pass" not in str(made)
    oper = Rest(f5, ("oper", "oper-pass"))
    member = "/mgmt/tm/ltm/pool/~Common~ike500/members/~Common~rras1:500"
    assert (
        ok(oper("PATCH", member, {"session": "user-disabled", "state": "user-up"}))["session"]
        == "user-disabled"
    )
    # a change beyond the admin state (f5-sdk's update() PUTs the whole object): refused
    error(
        oper("PATCH", member, {"ratio": 2}),
        400,
        "01070822:3: Access Denied: user (oper) does not have modify",
    )
    error(
        oper("POST", "/mgmt/tm/ltm/pool/~Common~ike500/members", {"name": "rras1:4500"}),
        400,
        "01070822:3: Access Denied: user (oper) does not have create access to object (pool_member)",
    )


def test_a_user_reads_its_own_partition_access_and_no_one_elses(f5):
    reader = Rest(f5, READER)
    me = ok(reader("GET", "/mgmt/tm/auth/user/reader"))
    assert [(a["name"], a["role"]) for a in me["partitionAccess"]] == [("Common", "guest")]
    assert me["partitionAccess"][0]["nameReference"]["link"].startswith(
        "https://localhost/mgmt/tm/auth/partition/Common"
    )
    error(reader("GET", "/mgmt/tm/auth/user/admin"), 400, "01070822:3: Access Denied: user (reader)")
    automation = ok(Rest(f5)("GET", "/mgmt/tm/auth/user/automation"))
    assert [(a["name"], a["role"]) for a in automation["partitionAccess"]] == [("Common", "manager")]
    admin = ok(Rest(f5, ADMIN)("GET", "/mgmt/tm/auth/user/admin"))
    assert admin["partitionAccess"] == [{"name": "all-partitions", "role": "admin"}]


def test_global_roles_cannot_be_given_for_one_partition(f5):
    admin = Rest(f5, ADMIN)
    error(
        admin(
            "POST",
            "/mgmt/tm/auth/user",
            {
                "name": "ra",
                "password": "p",
                "partitionAccess": [{"name": "Common", "role": "resource-admin"}],
            },
        ),
        400,
        "01070734:3",
    )
