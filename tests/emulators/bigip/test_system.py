"""The BIG-IP twin's saved configuration and reboot, certificates, config-sync, transactions and admin log."""

from __future__ import annotations

import requests

from tests.emulators.bigip.rest import Rest, error, ok, pem_pair


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


def test_upload_install_certificate_and_use_it_in_client_ssl(f5):
    rest = Rest(f5)
    cert_pem, key_pem, digest = pem_pair()
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
