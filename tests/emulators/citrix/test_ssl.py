"""Citrix twin SSL for SSTP: systemfiles, cert-keys, certificate bindings (docs/citrix.md,
docs/citrix.md#ssl-for-sstp)."""

from __future__ import annotations

import base64

from tests.emulators.citrix.nitro import Nitro, bind, done, refused, self_signed, upload


def test_sstp_files_certkeys_and_vserver_bindings(adc):
    nitro = Nitro(adc)
    cert, key = self_signed("vpn.example.com")
    _, other_key = self_signed("other.example.com")
    for filename, content in (("vpn.crt", cert), ("vpn.key", key), ("other.key", other_key)):
        assert upload(nitro, filename, content).status_code in (200, 201)
    # a file that exists is refused even as an idempotent add
    refused(upload(nitro, "vpn.crt", cert, "?idempotent=yes"), 409, 1642)
    files = done(nitro("GET", "systemfile?args=filelocation:%2Fnsconfig%2Fssl"))["systemfile"]
    assert sorted(f["filename"] for f in files) == ["other.key", "vpn.crt", "vpn.key"]
    read = done(nitro("GET", "systemfile/vpn.crt?args=filelocation:%2Fnsconfig%2Fssl"))["systemfile"][0]
    assert base64.b64decode(read["filecontent"]) == cert and read["fileencoding"] == "BASE64"
    refused(nitro("GET", "systemfile"), 400, 1095)  # the location is part of a file's identity
    # a key that does not belong to the certificate is refused and nothing is created
    mismatched = nitro(
        "POST", "sslcertkey", {"sslcertkey": {"certkey": "bad", "cert": "vpn.crt", "key": "other.key"}}
    )
    assert mismatched.status_code == 599 and mismatched.json()["errorcode"] != 0
    refused(nitro("GET", "sslcertkey/bad"), 404, 258)
    done(
        nitro(
            "POST",
            "sslcertkey",
            {"sslcertkey": {"certkey": "aovpn", "cert": "vpn.crt", "key": "vpn.key", "inform": "pem"}},
        ),
        201,
    )
    certkey = done(nitro("GET", "sslcertkey/aovpn"))["sslcertkey"][0]
    assert certkey["status"] == "Valid" and certkey["daystoexpiration"] in (88, 89, 90)
    assert isinstance(certkey["serial"], str) and "vpn.example.com" in certkey["subject"]
    # the same certificate under a second name
    message = refused(
        nitro(
            "POST", "sslcertkey", {"sslcertkey": {"certkey": "again", "cert": "vpn.crt", "key": "vpn.key"}}
        ),
        409,
        273,
    )
    assert message == "Resource already exists [certkeyName Contents, aovpn]"
    refused(nitro("PUT", "sslcertkey", {"sslcertkey": {"certkey": "aovpn", "cert": "other.crt"}}), 599, 278)
    # certificates bind to SSL vservers only
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "ike", "servicetype": "UDP", "ipv46": "192.0.2.10", "port": 500}},
        ),
        201,
    )
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "sstp", "servicetype": "SSL", "ipv46": "192.0.2.10", "port": 443}},
        ),
        201,
    )
    refused(bind(nitro, "sslvserver_sslcertkey_binding", vservername="ike", certkeyname="aovpn"), 599, 1544)
    refused(bind(nitro, "sslvserver_sslcertkey_binding", vservername="ghost", certkeyname="aovpn"), 404, 461)
    refused(bind(nitro, "sslvserver_sslcertkey_binding", vservername="sstp", certkeyname="ghost"), 404, 258)
    assert "sslvserver_sslcertkey_binding" not in done(nitro("GET", "sslvserver_sslcertkey_binding/sstp"))
    done(bind(nitro, "sslvserver_sslcertkey_binding", vservername="sstp", certkeyname="aovpn"))
    refused(bind(nitro, "sslvserver_sslcertkey_binding", vservername="sstp", certkeyname="aovpn"), 409, 273)
    rows = done(nitro("GET", "sslvserver_sslcertkey_binding/sstp"))["sslvserver_sslcertkey_binding"]
    assert [(r["vservername"], r["certkeyname"]) for r in rows] == [("sstp", "aovpn")]
    refused(nitro("GET", "sslvserver_sslcertkey_binding/ghost"), 404, 461)
    # a bound certificate cannot go; unbound it can, and so can its files
    refused(nitro("DELETE", "sslcertkey/aovpn"), 599, 1070)
    done(nitro("DELETE", "sslvserver_sslcertkey_binding/sstp?args=certkeyname:aovpn"))
    done(nitro("DELETE", "sslcertkey/aovpn"))
    for filename in ("vpn.crt", "vpn.key", "other.key"):
        done(nitro("DELETE", f"systemfile/{filename}?args=filelocation:%2Fnsconfig%2Fssl"))
    assert "systemfile" not in done(nitro("GET", "systemfile?args=filelocation:%2Fnsconfig%2Fssl"))
    refused(nitro("GET", "systemfile/vpn.crt?args=filelocation:%2Fnsconfig%2Fssl"), 404, 258)


def test_uploaded_files_are_on_disk_not_in_the_configuration(adc):
    nitro = Nitro(adc)
    assert upload(nitro, "note.txt", b"hello").status_code in (200, 201)
    assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is False
    adc.admin().reboot()  # without a save
    read = done(nitro("GET", "systemfile/note.txt?args=filelocation:%2Fnsconfig%2Fssl"))["systemfile"][0]
    assert base64.b64decode(read["filecontent"]) == b"hello"


def test_certkey_update_in_place_link_and_options(adc):
    nitro = Nitro(adc)
    old_cert, old_key = self_signed("vpn.example.com")
    new_cert, new_key = self_signed("vpn.example.com")
    ca_cert, _ = self_signed("Example CA")
    for filename, content in (
        ("old.crt", old_cert),
        ("old.key", old_key),
        ("new.crt", new_cert),
        ("new.key", new_key),
        ("ca.crt", ca_cert),
    ):
        assert upload(nitro, filename, content).status_code in (200, 201)
    done(
        nitro("POST", "sslcertkey", {"sslcertkey": {"certkey": "vpn", "cert": "old.crt", "key": "old.key"}}),
        201,
    )
    done(nitro("POST", "sslcertkey", {"sslcertkey": {"certkey": "ca", "cert": "ca.crt"}}), 201)
    serial = done(nitro("GET", "sslcertkey/vpn"))["sslcertkey"][0]["serial"]
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "sstp", "servicetype": "SSL", "ipv46": "192.0.2.10", "port": 443}},
        ),
        201,
    )
    done(bind(nitro, "sslvserver_sslcertkey_binding", vservername="sstp", certkeyname="vpn"))
    # replace the certificate in place: the binding stays, the serial changes
    refused(nitro("POST", "sslcertkey?action=change", {"sslcertkey": {"certkey": "vpn"}}), 400, 1240)
    update = {"certkey": "vpn", "cert": "new.crt", "key": "old.key", "nodomaincheck": True}
    assert (
        nitro("POST", "sslcertkey?action=update", {"sslcertkey": update}).status_code == 599
    )  # key mismatch
    update["key"] = "new.key"
    done(nitro("POST", "sslcertkey?action=update", {"sslcertkey": update}))
    certkey = done(nitro("GET", "sslcertkey/vpn"))["sslcertkey"][0]
    assert certkey["serial"] != serial and certkey["cert"] == "new.crt"
    rows = done(nitro("GET", "sslvserver_sslcertkey_binding/sstp"))["sslvserver_sslcertkey_binding"]
    assert [r["certkeyname"] for r in rows] == ["vpn"]
    # the chain: a linked issuer cannot go while linked
    refused(
        nitro(
            "POST", "sslcertkey?action=link", {"sslcertkey": {"certkey": "vpn", "linkcertkeyname": "nope"}}
        ),
        404,
        258,
    )
    done(nitro("POST", "sslcertkey?action=link", {"sslcertkey": {"certkey": "vpn", "linkcertkeyname": "ca"}}))
    assert done(nitro("GET", "sslcertkey/vpn"))["sslcertkey"][0]["linkcertkeyname"] == "ca"
    refused(nitro("DELETE", "sslcertkey/ca"), 599, 1070)
    done(nitro("POST", "sslcertkey?action=unlink", {"sslcertkey": {"certkey": "vpn"}}))
    done(nitro("DELETE", "sslcertkey/ca"))
    # what PUT may change
    done(
        nitro(
            "PUT",
            "sslcertkey",
            {"sslcertkey": {"certkey": "vpn", "expirymonitor": "enabled", "notificationperiod": "30"}},
        )
    )
    certkey = done(nitro("GET", "sslcertkey/vpn"))["sslcertkey"][0]
    assert (certkey["expirymonitor"], certkey["notificationperiod"]) == ("ENABLED", 30)
    refused(
        nitro("PUT", "sslcertkey", {"sslcertkey": {"certkey": "vpn", "notificationperiod": 5}}), 400, 1074
    )
