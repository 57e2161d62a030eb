"""Citrix twin system: modes, features, lbparameter, save and reboot, configchanged (docs/citrix.md)."""

from __future__ import annotations

from emulators.common import start_twin
from tests.emulators.citrix.nitro import PASSWORD, USER, Nitro, bind, done, ikev2, refused


def test_servicegroup_delete_cascades_and_modes(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    done(nitro("DELETE", "servicegroup/sg500"))
    assert "lbvserver_servicegroup_binding" not in done(nitro("GET", "lbvserver_servicegroup_binding/vs500"))
    done(nitro("POST", "nsmode?action=disable", {"nsmode": {"mode": "usnip"}}))
    modes = done(nitro("GET", "nsmode"))["nsmode"]
    assert modes["usnip"] is False and "USNIP" not in modes["mode"]
    done(nitro("POST", "nsmode?action=enable", {"nsmode": {"mode": ["USNIP"]}}))
    assert done(nitro("GET", "nsmode"))["nsmode"]["usnip"] is True
    refused(nitro("POST", "nsmode?action=enable", {"nsmode": {"mode": ["WARP"]}}), 400, 1074)


def test_save_then_reboot_keeps_saved_and_loses_unsaved(adc):
    nitro = Nitro(adc)
    done(nitro("POST", "server", {"server": {"name": "kept", "ipaddress": "10.0.0.1"}}), 201)
    assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is True
    done(nitro("POST", "nsconfig?action=save", {"nsconfig": {}}))
    assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is False
    done(nitro("POST", "server", {"server": {"name": "lost", "ipaddress": "10.0.0.2"}}), 201)
    adc.admin().reboot()
    assert {s["name"] for s in done(nitro("GET", "server"))["server"]} == {"kept"}
    log = adc.admin().log()
    assert [e["write"] for e in log if e["method"] == "POST" and e["path"].endswith("/server")] == [
        True,
        True,
    ]


def test_saved_configuration_survives_reboot_and_restart_unsaved_does_not(tls, tmp_path):
    twin = start_twin("citrix", tls=tls, data_dir=tmp_path)
    try:
        nitro = Nitro(twin)
        ikev2(nitro)
        done(nitro("POST", "nsmode?action=enable", {"nsmode": {"mode": "USIP"}}))
        done(nitro("POST", "nsconfig?action=save", {"nsconfig": {}}))
        # unsaved: a binding removed, a mode changed, a new object
        done(nitro("DELETE", "lbvserver_servicegroup_binding/vs500?args=servicegroupname:sg500"))
        done(nitro("POST", "nsmode?action=disable", {"nsmode": {"mode": ["USIP"]}}))
        done(nitro("POST", "server", {"server": {"name": "unsaved", "ipaddress": "10.0.0.50"}}), 201)
        sessionid = done(
            Nitro(twin, headers={})("POST", "login", {"login": {"username": USER, "password": PASSWORD}}), 201
        )["sessionid"]
        assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is True
        twin.admin().reboot()
        assert done(nitro("GET", "nsconfig"))["nsconfig"]["configchanged"] is False
        assert {s["name"] for s in done(nitro("GET", "server"))["server"]} == {"rras1"}
        bound = done(nitro("GET", "lbvserver_servicegroup_binding/vs500"))["lbvserver_servicegroup_binding"]
        assert [b["servicegroupname"] for b in bound] == ["sg500"]
        assert done(nitro("GET", "nsmode"))["nsmode"]["usip"] is True
        # sessions do not survive a reboot
        refused(Nitro(twin, headers={"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"})("GET", "server"), 401, 444)
    finally:
        twin.stop()
    restarted = start_twin("citrix", tls=tls, data_dir=tmp_path)
    try:
        assert done(Nitro(restarted)("GET", "lbvserver/vs500"))["lbvserver"][0]["port"] == 500
    finally:
        restarted.stop()


def test_features_lbparameter_and_sslvserver(adc):
    nitro = Nitro(adc)
    features = done(nitro("GET", "nsfeature"))["nsfeature"]
    assert isinstance(features, dict) and features["lb"] is True and "LB" in features["feature"]
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "sstp", "servicetype": "SSL", "ipv46": "192.0.2.10", "port": 443}},
        ),
        201,
    )
    done(
        nitro("POST", "servicegroup", {"servicegroup": {"servicegroupname": "sg", "servicetype": "HTTP"}}),
        201,
    )
    done(bind(nitro, "lbvserver_servicegroup_binding", name="sstp", servicegroupname="sg"))  # SSL offload
    assert done(nitro("GET", "sslvserver/sstp"))["sslvserver"][0]["vservername"] == "sstp"
    refused(nitro("GET", "sslvserver/ghost"), 404, 461)
    done(nitro("POST", "nsfeature?action=disable", {"nsfeature": {"feature": ["ssl"]}}))
    assert done(nitro("GET", "nsfeature"))["nsfeature"]["ssl"] is False
    assert done(nitro("GET", "lbvserver/sstp"))["lbvserver"][0]["value"] == "SSL feature disabled"
    assert "value" not in done(nitro("GET", "servicegroup/sg"))["servicegroup"][0]  # HTTP: not an SSL entity
    done(nitro("POST", "nsfeature?action=enable", {"nsfeature": {"feature": "SSL"}}))
    assert "value" not in done(nitro("GET", "lbvserver/sstp"))["lbvserver"][0]
    # deleting a bound servicegroup is allowed unless allowboundsvcremoval is DISABLED
    assert done(nitro("GET", "lbparameter"))["lbparameter"]["allowboundsvcremoval"] == "ENABLED"
    done(nitro("PUT", "lbparameter", {"lbparameter": {"allowboundsvcremoval": "disabled"}}))
    refused(nitro("DELETE", "servicegroup/sg"), 599, 1325)
    done(nitro("PUT", "lbparameter", {"lbparameter": {"allowboundsvcremoval": "ENABLED"}}))
    done(nitro("DELETE", "servicegroup/sg"))
