"""f5-sdk, an independent client, against the BIG-IP twin (it checks kinds, selfLinks, trailing slashes
and response shapes on its own)."""

from __future__ import annotations

import pytest

from tests.emulators.bigip.rest import pem_pair


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
    cert_pem, key_pem, digest = pem_pair()
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
