"""SSTP TLS hardening and the SSTP certificate's expiry: the cipher-suite lists by Windows build, what the
component declares (mocks), and the providers against the WinRM twin (providers/rras/tls.py,
providers/rras/certificate.py)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
import trustme
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from components.rras import certificate_summary
from emulators.common import RunningTwin, TLSMaterial
from providers.common import diagnostics
from providers.common.errors import ConfigurationError
from providers.rras.certificate import (
    CertificateInfo,
    SstpCertificateProvider,
    days_left,
    expiry_warning,
    from_ssl_certificate,
    from_text,
)
from providers.rras.tls import (
    CIPHER_SUITE_KEY,
    PROTOCOLS_KEY,
    TlsRegistryValueProvider,
    cipher_suite_order,
)
from tests.unit.support import BASE, build_objects

OWNER = "aovpn-iac:aovpn/test"
PASSWORD = "admin-pass"
MGMT = {"endpoint": "https://127.0.0.1:5986/wsman", "user": "LAB\\svc", "passwordSecret": "rrasPassword"}
NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)


def managed_nodes() -> list[dict[str, Any]]:
    return [{**n, "management": MGMT} for n in BASE["nodes"]]


# -- the cipher-suite lists (Optimize-VpnServerTlsConfiguration.ps1 v1.6.2) ---------------------------------
def test_cipher_suite_order_follows_the_build_and_the_level() -> None:
    assert cipher_suite_order(14393, "performance") == (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    )
    assert cipher_suite_order(17134, "performance") == cipher_suite_order(14393, "performance")  # SAC 1803
    for build in (17763, 18363, 20348, 26100):
        assert cipher_suite_order(build, "performance").split(",") == [
            "TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ]
        security = cipher_suite_order(build, "security").split(",")
        assert security[0] == "TLS_AES_256_GCM_SHA384" and len(security) == 6
        assert not any("AES_256" in s for s in cipher_suite_order(build, "performance").split(","))
    assert cipher_suite_order(14393, "security").startswith("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,")
    assert all(s.endswith(("_P256", "_P384")) for s in cipher_suite_order(9600, "security").split(","))


def test_a_build_the_script_does_not_know_is_refused_naming_the_node() -> None:
    with pytest.raises(ConfigurationError) as info:
        cipher_suite_order(19041, "security", "node rras2")
    text = str(info.value)
    assert "node rras2" in text and "19041" in text and "tlsHardening: off" in text
    with pytest.raises(ConfigurationError):
        cipher_suite_order(20348, "fast")


# -- the component -------------------------------------------------------------------------------------
@pulumi.runtime.test
def test_tls_hardening_declares_the_schannel_values_and_asks_for_a_reboot(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        for node in ("rras1", "rras2"):
            for proto, suffix in (("SSL 3.0", "ssl30"), ("TLS 1.0", "tls10"), ("TLS 1.1", "tls11")):
                value = objs[f"vpn-east-{node}-tls-{suffix}-server"]
                assert (value["path"], value["name"], value["kind"], value["value"], value["ensure"]) == (
                    f"{PROTOCOLS_KEY}\\{proto}\\Server",
                    "Enabled",
                    "DWord",
                    0,
                    "present",
                )
                assert value["keep_on_delete"] is False and value["on_remove"] == "keep"
            order = objs[f"vpn-east-{node}-tls-cipher-suites"]
            assert (order["path"], order["name"], order["kind"]) == (CIPHER_SUITE_KEY, "Functions", "String")
            # the level only: the provider picks the list for the node's build
            assert order["cipher_suites"] == "security" and "value" not in order
            restart = objs[f"vpn-east-{node}-restart"]
            assert len(restart["services"]["Computer"]) == 4  # the four values' revisions: a reboot
            assert objs[f"vpn-east-{node}-removal"]["services"] == ["Computer"]

    return build_objects(
        mocks, nodes=managed_nodes(), protocols=["sstp"], sstp={"tlsHardening": "security"}
    ).apply(check)


@pulumi.runtime.test
def test_tls_hardening_off_declares_nothing_and_no_reboot(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert not [name for name in objs if "-tls-" in name]
        assert "Computer" not in objs["vpn-east-rras1-restart"]["services"]

    return build_objects(mocks, nodes=managed_nodes(), protocols=["ikev2", "sstp"]).apply(check)


@pulumi.runtime.test
def test_the_sstp_certificate_records_offload_and_nodes(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        lb = objs["vpn-east-sstp-certificate"]
        assert (lb["source"], lb["certificate_secret"], lb["cluster"]) == ("load balancer", "c", "vpn-east")
        assert "device" not in lb and not [n for n in objs if n.endswith("-rras1-sstp-certificate")]

    offload = {"tlsOffload": {"certificateSecret": "c", "privateKeySecret": "k"}}
    return build_objects(mocks, protocols=["ikev2", "sstp"], sstp=offload).apply(check)


@pulumi.runtime.test
def test_the_sstp_certificate_of_each_managed_node(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        for node in ("rras1", "rras2"):
            rec = objs[f"vpn-east-{node}-sstp-certificate"]
            assert (rec["source"], rec["node"], rec["device"]["password_key"]) == (
                "node",
                node,
                "rrasPassword",
            )
        assert "vpn-east-sstp-certificate" not in objs

    return build_objects(mocks, nodes=managed_nodes(), protocols=["sstp"]).apply(check)


@pulumi.runtime.test
def test_no_certificate_record_without_sstp_or_without_a_way_to_read_it(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert not [n for n in objs if "sstp-certificate" in n]

    # SSTP without offload and without node management: nothing can read the nodes' certificates
    return build_objects(mocks, protocols=["ikev2", "sstp"]).apply(check)


def test_certificate_summary_names_the_one_that_expires_first() -> None:
    soon = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=10, hours=1)).isoformat()
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=90, hours=1)).isoformat()
    out = certificate_summary({"rras1": ("CN=a", "AA", later), "rras2": ("CN=b", "BB", soon)}, per_node=True)
    assert (out["heldBy"], out["thumbprint"], out["daysLeft"]) == ("rras2", "BB", 10)
    assert out["nodes"]["rras1"]["daysLeft"] == 90
    lb = certificate_summary({"load balancer": ("CN=vpn", "CC", later)}, per_node=False)
    assert lb["heldBy"] == "load balancer" and "nodes" not in lb
    unknown = certificate_summary({"rras1": (None, None, None)}, per_node=True)
    assert unknown["daysLeft"] is None and unknown["heldBy"] == "rras1"


# -- reading the certificate ----------------------------------------------------------------------------
def _certificate(days: float, name: str = "vpn.example.com") -> tuple[bytes, bytes]:
    """(PEM, DER) of a certificate for ``name`` expiring in ``days`` days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    pem = trustme.CA().issue_cert(name, common_name=name, not_after=end).cert_chain_pems[0].bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    return pem, der


class _Deserialized:
    """What pypsrp makes of an X509Certificate2 PowerShell serialized: adapted RawData and the text."""

    def __init__(self, raw: bytes | None, text: str) -> None:
        self.adapted_properties = {"RawData": raw} if raw is not None else {}
        self.extended_properties: dict[str, Any] = {}
        self.to_string = text


TEXT = (
    "[Subject]\r\n  CN=vpn.example.com\r\n\r\n[Issuer]\r\n  CN=Issuing CA\r\n\r\n"
    "[Serial Number]\r\n  0A1B\r\n\r\n"
    "[Not Before]\r\n  1/2/2026 3:04:05 PM\r\n\r\n[Not After]\r\n  7/1/2026 11:30:00 PM\r\n\r\n"
    "[Thumbprint]\r\n  d9bb778f6f1111111f5b3e2f55ddd9f00b9c2f5a\r\n"
)


def test_ssl_certificate_is_read_in_every_form_a_node_sends() -> None:
    import hashlib

    _, der = _certificate(10)
    by_bytes = from_ssl_certificate(der)
    by_object = from_ssl_certificate(_Deserialized(der, "ignored when RawData is there"))
    assert by_bytes == by_object and by_bytes is not None
    assert by_bytes.thumbprint == hashlib.sha1(der).hexdigest().upper()  # noqa: S324
    assert by_bytes.subject.startswith("CN=vpn.example.com, OU=Testing cert")  # as Windows writes it
    by_text = from_ssl_certificate(_Deserialized(None, TEXT))
    assert by_text == CertificateInfo(
        "CN=vpn.example.com",
        "D9BB778F6F1111111F5B3E2F55DDD9F00B9C2F5A",
        datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.UTC),
    )
    assert from_ssl_certificate(TEXT) == by_text
    assert from_ssl_certificate(None) is None and from_ssl_certificate(b"") is None
    with pytest.raises(ValueError):
        from_text("[Subject]\r\n  CN=x\r\n")
    with pytest.raises(ValueError):
        from_ssl_certificate(42)


def test_days_left_truncates_like_timespan_days_and_warns_within_thirty() -> None:
    props = {"cluster": "vpn-east", "source": "node", "node": "rras2"}
    record = {"subject": "CN=vpn", "thumbprint": "AB" * 20, "not_after": "2026-06-11T11:00:00Z"}
    assert days_left(record["not_after"], NOW) == 9  # 9 days 23 hours
    message = expiry_warning(props, record, NOW)
    assert message is not None
    assert message.startswith("vpn-east: the SSTP certificate CN=vpn (thumbprint ABAB")
    assert "on node rras2 expires in 9 days, on 2026-06-11 11:00 UTC" in message
    assert expiry_warning(props, {**record, "not_after": "2026-07-01T12:00:01Z"}, NOW) is None  # 30 d + 1 s
    assert expiry_warning(props, {**record, "not_after": "2026-07-01T12:00:00Z"}, NOW) is not None
    assert expiry_warning(props, {**record, "not_after": "2026-08-30T12:00:00Z"}, NOW) is None
    expired = expiry_warning(props, {**record, "not_after": "2026-05-31T12:00:00Z"}, NOW)
    assert (
        expired is not None
        and "expired on 2026-05-31" in expired
        and days_left("2026-05-31T12:00:00Z", NOW) == -1
    )
    lb = {"cluster": "vpn-east", "source": "load balancer", "certificate_secret": "sstpCertificate"}
    lb_message = expiry_warning(lb, record, NOW)
    assert lb_message is not None and "on the load balancer (secret config key sstpCertificate)" in lb_message
    unbound = expiry_warning(props, dict.fromkeys(record), NOW)
    assert unbound is not None and "no certificate is bound for SSTP on node rras2" in unbound


# -- the providers against the twin -------------------------------------------------------------------------
def _configured(cls: type[Any], secrets: dict[str, str]) -> Any:
    provider = cls()
    provider.configure(ConfigureRequest(Config({f"aovpn:{k}": v for k, v in secrets.items()}, "aovpn")))
    return provider


@pytest.fixture
def old_node(twin_factory: Any) -> RunningTwin:
    twin: RunningTwin = twin_factory("winrm", hostname="rras1", os_build=14393)
    return twin


def _device(twin: RunningTwin, tls: TLSMaterial) -> dict[str, Any]:
    return {
        "url": f"{twin.url}/wsman",
        "user": "Administrator",
        "password_key": "rrasPassword",
        "auth": "ntlm",
        "ca_bundle": str(tls.ca_path),
    }


def _cmdlets(twin: RunningTwin, since: int = 0) -> list[str]:
    return [e["cmdlet"] for e in twin.admin().log(since=since) if e.get("cmdlet")]


def _seq(twin: RunningTwin) -> int:
    log = twin.admin().log()
    return int(log[-1]["seq"]) if log else 0


def _tls_props(twin: RunningTwin, tls: TLSMaterial, **changes: Any) -> dict[str, Any]:
    return {
        "device": _device(twin, tls),
        "node": "rras1",
        "owner": OWNER,
        "on_remove": "keep",
        "path": CIPHER_SUITE_KEY,
        "name": "Functions",
        "kind": "String",
        "keep_on_delete": False,
        "ensure": "present",
        "cipher_suites": "security",
        **changes,
    }


def _registry(twin: RunningTwin) -> dict[str, Any]:
    registry: dict[str, Any] = twin.admin().state()["running"]["registry"]
    return registry


def test_the_cipher_order_is_picked_for_the_build_created_with_its_key_and_repaired(
    old_node: RunningTwin, tls: TLSMaterial
) -> None:
    provider = _configured(TlsRegistryValueProvider, {"rrasPassword": PASSWORD})
    key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002"
    assert key not in _registry(old_node)  # no such key on a fresh Windows

    checked = provider.check({}, _tls_props(old_node, tls)).inputs
    assert checked["value"] == cipher_suite_order(14393, "security")  # a Windows Server 2016 node
    provider.check({}, _tls_props(old_node, tls, cipher_suites="performance"))
    builds = [c for c in _cmdlets(old_node) if c == "Get-ItemProperty"]
    assert len(builds) == 1, "the build is read once per node and process"

    assert (
        provider.read("id", {**checked, "revision": "r0"}).outs["ensure"] == "absent"
    )  # missing key: absent
    since = _seq(old_node)
    created = provider.create(checked).outs
    assert created["value"] == checked["value"] and created["ensure"] == "present"
    assert _cmdlets(old_node, since).count("New-Item") == 1
    assert _registry(old_node)[key]["Functions"] == {"kind": "String", "value": checked["value"]}

    since = _seq(old_node)
    again = provider.update("id", created, checked).outs
    assert again["revision"] == created["revision"]
    assert [e for e in old_node.admin().log(since=since) if e.get("write")] == []  # nothing to write

    old_node.backend.write_value(key, "Functions", "String", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", force=True)
    drifted = provider.read("id", created).outs
    assert drifted["value"] == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    repaired = provider.update("id", drifted, checked).outs
    assert repaired["value"] == checked["value"] and repaired["revision"] != created["revision"]


def test_a_schannel_value_on_a_missing_key_and_its_removal(old_node: RunningTwin, tls: TLSMaterial) -> None:
    provider = _configured(TlsRegistryValueProvider, {"rrasPassword": PASSWORD})
    path = f"{PROTOCOLS_KEY}\\TLS 1.0\\Server"
    props = _tls_props(old_node, tls, path=path, name="Enabled", kind="DWord", value=0)
    del props["cipher_suites"]
    checked = provider.check({}, props).inputs
    assert checked["value"] == 0  # no level: the value is the component's
    outs = provider.create(checked).outs
    key = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
    assert _registry(old_node)[key + "\\TLS 1.0\\Server"]["Enabled"] == {"kind": "DWord", "value": 0}
    assert old_node.admin().state()["runtime"]["tls"]["pending_reboot"] is True

    since = _seq(old_node)
    provider.delete("id", outs)  # rras.onRemove: keep
    assert [e for e in old_node.admin().log(since=since) if e.get("write")] == []
    provider.delete("id", {**outs, "on_remove": "revert"})
    assert "Enabled" not in _registry(old_node)[key + "\\TLS 1.0\\Server"]


@pytest.fixture
def node_twin(twin_factory: Any) -> Iterator[RunningTwin]:
    yield twin_factory("winrm", hostname="rras2")


def test_the_node_certificate_record_warns_in_each_diff_and_refreshes_on_read(
    node_twin: RunningTwin, tls: TLSMaterial, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = _configured(SstpCertificateProvider, {"rrasPassword": PASSWORD})
    diagnostics._TOLD.clear()
    pem, _ = _certificate(10)
    bound = node_twin.backend.set_sstp_certificate(pem)
    props = {"cluster": "vpn-east", "source": "node", "node": "rras2", "device": _device(node_twin, tls)}
    props.update(subject=None, thumbprint=None, not_after=None)

    provider.check({}, props)  # a preview of the new record already warns
    assert f"thumbprint {bound['thumbprint']}) on node rras2 expires in 9 days" in capsys.readouterr().err
    outs = provider.create(props).outs
    assert (outs["subject"], outs["thumbprint"]) == (bound["subject"], bound["thumbprint"])
    assert outs["subject"].startswith("CN=vpn.example.com, ")
    assert outs["not_after"] == bound["not_after"].strftime("%Y-%m-%dT%H:%M:%SZ")

    diagnostics._TOLD.clear()
    since = _seq(node_twin)
    assert provider.diff("id", outs, props).changes is False
    assert "expires in 9 days" in capsys.readouterr().err
    assert _cmdlets(node_twin, since) == []  # the diff reads nothing

    renewed = node_twin.backend.set_sstp_certificate(_certificate(90)[0])
    refreshed = provider.read("id", outs).outs
    assert refreshed["thumbprint"] == renewed["thumbprint"]
    diagnostics._TOLD.clear()
    assert provider.diff("id", refreshed, props).changes is False
    assert "expires in" not in capsys.readouterr().err


def test_the_load_balancer_certificate_record_follows_the_secret(capsys: pytest.CaptureFixture[str]) -> None:
    soon, _ = _certificate(10, "sstp.example.net")
    later, _ = _certificate(90, "sstp.example.net")
    props = {"cluster": "vpn-west", "source": "load balancer", "certificate_secret": "sstpCertificate"}
    diagnostics._TOLD.clear()
    provider = _configured(SstpCertificateProvider, {"sstpCertificate": soon.decode()})
    outs = provider.create(props).outs
    assert outs["subject"].startswith("CN=sstp.example.net, ") and "certificate_secret" in outs
    assert "-----BEGIN" not in str(outs)  # never the PEM
    err = capsys.readouterr().err
    assert "vpn-west: the SSTP certificate CN=sstp.example.net" in err and "on the load balancer" in err

    renewed = _configured(SstpCertificateProvider, {"sstpCertificate": later.decode()})
    assert renewed.diff("id", outs, props).changes is True  # another certificate in the secret: re-read
    assert "expires in" not in capsys.readouterr().err


def test_a_node_of_an_unknown_build_is_refused_at_check(twin_factory: Any, tls: TLSMaterial) -> None:
    twin: RunningTwin = twin_factory("winrm", hostname="rras1", os_build=19041)
    provider = _configured(TlsRegistryValueProvider, {"rrasPassword": PASSWORD})
    with pytest.raises(ConfigurationError) as info:
        provider.check({}, _tls_props(twin, tls))
    assert "node rras1: Windows build 19041 has no known SSTP cipher-suite list" in str(info.value)
    assert [e for e in twin.admin().log() if e.get("write")] == []  # refused before anything is written
