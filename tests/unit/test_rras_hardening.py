"""IKEv2 hardening of the RRAS nodes: what the component declares (mocks), the thumbprint read-back forms,
and the accepted-root and Windows-build providers against the WinRM twin (providers/rras/hardening.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from emulators.common import RunningTwin, TLSMaterial
from emulators.winrm.hardening import make_root_certificate
from providers.common.errors import ProviderError
from providers.rras import hardening
from providers.rras import tls as rras_tls
from providers.rras.hardening import (
    SET_ROOT_SCRIPT,
    AcceptedRootProvider,
    WindowsBuildProvider,
    thumbprints_of,
)
from tests.unit.support import BASE, build_objects

OWNER = "aovpn-iac:aovpn/test"
MGMT = {"endpoint": "https://127.0.0.1:5986/wsman", "user": "LAB\\svc", "passwordSecret": "rrasPassword"}
IKEV2_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2"
THUMBPRINT = "71899A67BF33AF31BEFDC071F8F733B183856332"
GCM = {"field": "ipsec.encryptionMethod", "value": "GCMAES128", "build": 17134, "feature": "AES-GCM"}
FRAGMENTATION = {"field": "ikev2Fragmentation", "value": "true", "build": 17134, "feature": "fragmentation"}


def managed_nodes() -> list[dict[str, Any]]:
    return [{**n, "management": MGMT} for n in BASE["nodes"]]


# -- what the component declares ----------------------------------------------------------------------------
@pulumi.runtime.test
def test_by_default_the_crl_check_is_absent_and_nothing_else_is_declared(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        crl = objs["vpn-east-rras1-ikev2-crl-check"]
        assert (crl["path"], crl["name"], crl["ensure"]) == (IKEV2_KEY, "CertAuthFlags", "absent")
        assert not [n for n in objs if n.endswith(("-idle-timeout", "-network-outage", "-root-certificate"))]
        # the default fragmentation needs 1803: every node's build is checked for it
        build = objs["vpn-east-rras1-windows-build"]
        assert build["cluster"] == "vpn-east" and build["node"] == "rras1"
        assert [(r["field"], r["build"]) for r in build["requires"]] == [("ikev2Fragmentation", 17134)]

    return build_objects(mocks, nodes=managed_nodes()).apply(check)


@pulumi.runtime.test
def test_declared_hardening_is_one_setting_each(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        for node in ("rras1", "rras2"):
            crl = objs[f"vpn-east-{node}-ikev2-crl-check"]
            assert (crl["ensure"], crl["value"], crl["kind"]) == ("present", 4, "DWord")
            idle = objs[f"vpn-east-{node}-ikev2-idle-timeout"]
            assert (idle["name"], idle["value"], idle["path"]) == ("idleTimeout", 600, IKEV2_KEY)  # seconds
            outage = objs[f"vpn-east-{node}-ikev2-network-outage"]
            assert (outage["name"], outage["value"]) == ("networkBlackoutTime", 120)
            root = objs[f"vpn-east-{node}-ikev2-root-certificate"]
            assert root["thumbprint"] == THUMBPRINT and root["node"] == node
            requires = objs[f"vpn-east-{node}-windows-build"]["requires"]
            assert [(r["field"], r["value"]) for r in requires] == [
                ("ipsec.encryptionMethod", "GCMAES128 (ipsec.preset enhanced)"),
                ("ikev2Fragmentation", "true"),
            ]

    ikev2 = {
        "crlCheck": True,
        "rootCertificateThumbprint": THUMBPRINT.lower(),
        "idleTimeoutMinutes": 10,
        "networkOutageMinutes": 2,
    }
    return build_objects(mocks, nodes=managed_nodes(), ikev2=ikev2, ipsec={"preset": "enhanced"}).apply(check)


@pulumi.runtime.test
def test_no_build_check_when_nothing_declared_needs_one(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert not [n for n in objs if n.endswith("-windows-build")]

    return build_objects(mocks, nodes=managed_nodes(), ikev2Fragmentation=False).apply(check)


# -- reading the accepted root back -------------------------------------------------------------------------
class Deserialized:
    """A pypsrp GenericComplexObject: adapted properties and a ToString."""

    def __init__(self, props: dict[str, Any], text: str = "") -> None:
        self.adapted_properties = props
        self.extended_properties: dict[str, Any] = {}
        self.text = text

    def __str__(self) -> str:
        return self.text


def test_thumbprints_are_read_from_every_form_a_node_may_send() -> None:
    der = make_root_certificate("CN=Contoso Root CA")
    sha1 = hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - the thumbprint
    assert thumbprints_of(None) == []
    assert thumbprints_of(Deserialized({"Thumbprint": THUMBPRINT.lower()})) == [THUMBPRINT]
    two = [Deserialized({"Thumbprint": THUMBPRINT}), Deserialized({"Thumbprint": sha1})]
    assert thumbprints_of(two) == [THUMBPRINT, sha1]
    assert thumbprints_of(der) == [sha1]  # the certificate's bytes
    assert thumbprints_of(list(der)) == [sha1]  # one byte per item (Select-Object -ExpandProperty)
    text = f"[Subject]\r\n  CN=Contoso Root CA\r\n\r\n[Thumbprint]\r\n  {THUMBPRINT}\r\n\r\n"
    assert thumbprints_of(Deserialized({}, text)) == [THUMBPRINT]  # beyond the serialization depth
    assert thumbprints_of(b"0\x1a1\x180\x16\x06\x03U\x04\x03") == []  # a name blob is no certificate
    assert thumbprints_of("not a certificate") == []


# -- the providers against the twin -------------------------------------------------------------------------
def _configured(cls: type[Any]) -> Any:
    provider = cls()
    provider.configure(ConfigureRequest(Config({"aovpn:rrasPassword": "admin-pass"}, "aovpn")))
    return provider


def _base(twin: RunningTwin, tls_material: TLSMaterial, **changes: Any) -> dict[str, Any]:
    device = {
        "url": f"{twin.url}/wsman",
        "user": "Administrator",
        "password_key": "rrasPassword",
        "auth": "ntlm",
        "ca_bundle": str(tls_material.ca_path),
    }
    return {"device": device, "node": "rras1", "owner": OWNER, "on_remove": "keep", **changes}


def _cmdlets(twin: RunningTwin, since: int = 0) -> list[str]:
    return [e["cmdlet"] for e in twin.admin().log(since=since) if e.get("cmdlet")]


def _seq(twin: RunningTwin) -> int:
    log = twin.admin().log()
    return int(log[-1]["seq"]) if log else 0


def test_a_build_below_what_is_declared_is_refused_at_check_naming_node_build_and_fields(
    twin_factory: Any, tls: TLSMaterial
) -> None:
    old = twin_factory("winrm", hostname="rras1", os_build=14393)
    provider = _configured(WindowsBuildProvider)
    props = _base(old, tls, cluster="vpn-east", requires=[GCM, FRAGMENTATION])
    result = provider.check({}, props)
    (failure,) = result.failures
    assert failure.property == ""
    assert "cluster vpn-east, node rras1 runs Windows build 14393" in failure.reason
    assert "ipsec.encryptionMethod GCMAES128 needs build 17134 or later" in failure.reason
    assert "ikev2Fragmentation true needs build 17134 or later" in failure.reason
    assert result.inputs["build"] == 14393
    provider.check({}, props)
    assert _cmdlets(old).count("Get-ItemProperty") == 1, "the build is read once per node and process"
    assert [e for e in old.admin().log() if e.get("write")] == []


def test_a_recorded_build_is_not_read_again_unless_a_requirement_is_above_it(
    twin_factory: Any, tls: TLSMaterial
) -> None:
    new = twin_factory("winrm", hostname="rras1")
    provider = _configured(WindowsBuildProvider)
    props = _base(new, tls, cluster="vpn-east", requires=[FRAGMENTATION])
    first = provider.check({}, props)
    assert first.failures == [] and first.inputs["build"] == 20348
    rras_tls._BUILDS.clear()  # a later run: a new provider process
    since = _seq(new)
    again = provider.check(first.inputs, props)
    assert again.failures == [] and again.inputs["build"] == 20348 and _cmdlets(new, since) == []
    # recorded below a requirement (the node may have been upgraded since): read again
    stale = provider.check({**first.inputs, "build": 14393}, props)
    assert stale.failures == [] and stale.inputs["build"] == 20348
    assert _cmdlets(new, since) == ["Get-ItemProperty"]
    # the record writes nothing anywhere and changes only with what it checks
    created = provider.create(first.inputs)
    assert created.id == "rras1/windows-build" and created.outs["build"] == 20348
    assert provider.diff("rras1/windows-build", created.outs, again.inputs).changes is False
    assert provider.diff("rras1/windows-build", created.outs, {**again.inputs, "requires": []}).changes
    assert [e for e in new.admin().log() if e.get("write")] == []


def test_the_accepted_root_is_checked_set_read_back_repaired_and_reverted(
    twin_factory: Any, tls: TLSMaterial, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = twin_factory("winrm", hostname="rras1")
    told: list[tuple[str, bool]] = []
    monkeypatch.setattr(hardening, "tell", lambda message, warning=False: told.append((message, warning)))
    root = node.backend.add_root_certificate(subject="CN=Contoso Root CA")
    provider = _configured(AcceptedRootProvider)
    props = _base(node, tls, thumbprint=root, revision=None)

    assert provider.check({}, props).failures == []
    missing = "B" * 40
    (failure,) = provider.check({}, {**props, "thumbprint": missing}).failures
    wanted = f"node rras1: no certificate with thumbprint {missing} in Cert:\\LocalMachine\\Root"
    assert wanted in failure.reason
    since = _seq(node)
    # a thumbprint recorded for the node was verified when it was recorded
    assert provider.check(props, {**props}).failures == [] and _cmdlets(node, since) == []

    since = _seq(node)
    created = provider.create(props)
    assert created.outs["thumbprint"] == root and created.outs["revision"] != "adopted"
    assert "Set-VpnAuthProtocol (root certificate script)" in _cmdlets(node, since)
    assert node.backend.vpn_auth()["RootCertificateNameToAccept"]["thumbprint"] == root
    assert "RemoteAccess" in node.admin().state()["runtime"]["pending_restart"]
    # {EAP, MsChapv2}: the root is inert without certificate authentication, and the run says so
    assert any("UserAuthProtocolAccepted (EAP, MsChapv2) does not list" in m and w for m, w in told)

    since = _seq(node)
    same = provider.update("id", created.outs, props)
    assert same.outs["revision"] == created.outs["revision"]
    assert [e for e in node.admin().log(since=since) if e.get("write")] == []

    node.backend.set_vpn_auth({"RootCertificateNameToAccept": None})  # cleared by hand
    drifted = provider.read("id", created.outs).outs
    assert drifted["thumbprint"] is None
    repaired = provider.update("id", drifted, props).outs
    assert repaired["thumbprint"] == root and repaired["revision"] != created.outs["revision"]

    gone = node.backend.add_root_certificate(subject="CN=Gone Root CA")
    node.backend.remove_root_certificate(gone)
    with pytest.raises(ProviderError, match=f"node rras1: no certificate with thumbprint {gone}"):
        provider.update("id", repaired, {**props, "thumbprint": gone})

    since = _seq(node)
    provider.delete("id", repaired)  # rras.onRemove keep: nothing is sent
    assert _cmdlets(node, since) == []
    provider.delete("id", {**repaired, "on_remove": "revert"})  # Windows' default: no accepted root
    assert node.backend.vpn_auth()["RootCertificateNameToAccept"] is None


def test_the_root_script_carries_no_declaration_text() -> None:
    assert "$Thumbprint" in SET_ROOT_SCRIPT and THUMBPRINT not in SET_ROOT_SCRIPT
    assert SET_ROOT_SCRIPT.startswith("param(")  # the value arrives as a bound parameter
