"""SSTP's TLS on the WinRM twin, through pypsrp: Get-RemoteAccess and its SslCertificate as PowerShell
serializes an X509Certificate2, the certificate admin calls, the build in the registry, and the Schannel keys
(missing until made, in effect after a reboot)."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from pypsrp.wsman import WSMan
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from emulators.common import RunningTwin, TLSMaterial
from emulators.winrm.tls import admin_route
from tests.emulators.winrm.client import Node, ps_errors, ps_props

CURRENT_VERSION = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
PROTOCOLS = r"HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols"
CIPHERS = r"HKLM:\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002"
SSTP = r"HKLM:\SYSTEM\CurrentControlSet\Services\SstpSvc\Parameters"
SSTP_KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SstpSvc\\Parameters"
X509 = "System.Security.Cryptography.X509Certificates.X509Certificate2"


@pytest.fixture
def ntlm_node(twin_factory: Any) -> Iterator[Node]:
    """A node of Windows Server 2016 over HTTPS, NTLM (the twin's WinRM refuses Basic, as Windows)."""
    twin: RunningTwin = twin_factory("winrm", hostname="rras7", os_build=14393)
    assert twin.tls is not None
    wsman = WSMan(
        "127.0.0.1",
        port=twin.port,
        ssl=True,
        auth="ntlm",
        cert_validation=str(twin.tls.ca_path),
        username="Administrator",
        password="admin-pass",
    )
    node = Node(twin, wsman)
    yield node
    node.close()


def _cert(node: Node) -> Any:
    ps = node.run("Get-RemoteAccess")
    assert not ps.streams.error and len(ps.output) == 1
    return ps_props(ps.output[0]).get("SslCertificate")


def test_get_remote_access_sends_the_sstp_certificate_as_powershell_serializes_it(ntlm_node: Node) -> None:
    ps = ntlm_node.run("Get-RemoteAccess")
    (obj,) = ps.output
    assert (
        obj.types[0].endswith("/RemoteAccessVpn")
        and "Microsoft.Management.Infrastructure.CimInstance" in obj.types
    )
    props = ps_props(obj)
    assert (props["VpnStatus"], props["DAStatus"], props["UseHttp"]) == ("Installed", "Uninstalled", False)

    cert = props["SslCertificate"]  # the factory's self-signed certificate for the node's name
    assert cert.types == [
        X509,
        "System.Security.Cryptography.X509Certificates.X509Certificate",
        "System.Object",
    ]
    assert set(cert.adapted_properties) == {"RawData"}  # PowerShell serializes RawData alone
    der = cert.adapted_properties["RawData"]
    parsed = x509.load_der_x509_certificate(der)
    assert parsed.subject.rfc4514_string() == "CN=rras7"
    thumbprint = hashlib.sha1(der).hexdigest().upper()  # noqa: S324
    text = str(cert)
    assert text.startswith("[Subject]\r\n  CN=rras7\r\n\r\n[Issuer]\r\n  CN=rras7\r\n")
    assert text.endswith(f"[Thumbprint]\r\n  {thumbprint}\r\n")
    # the dates in the node's local time (UTC+1 on the twin), en-US
    local = parsed.not_valid_after_utc + datetime.timedelta(hours=1)
    assert f"[Not After]\r\n  {local.month}/{local.day}/{local.year} " in text
    # RRAS writes both hashes of the certificate it binds (docs/rras.md#sstp-tls-offload)
    sstp = ps_props(ntlm_node.run("Get-ItemProperty", Path=SSTP).output[0])
    assert sstp["SHA1CertificateHash"].hex().upper() == thumbprint
    assert sstp["SHA256CertificateHash"] == hashlib.sha256(der).digest()


def test_the_certificate_admin_calls_and_use_http(ntlm_node: Node) -> None:
    backend = ntlm_node.twin.backend
    made = backend.set_sstp_certificate(subject="CN=vpn.example.com", days=10)
    cert = _cert(ntlm_node)
    assert hashlib.sha1(cert.adapted_properties["RawData"]).hexdigest().upper() == made["thumbprint"]  # noqa: S324
    left = made["not_after"] - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(days=9, hours=23) < left <= datetime.timedelta(days=10)
    assert "[Subject]\r\n  CN=vpn.example.com\r\n" in str(cert)

    expired = backend.set_sstp_certificate(subject="CN=old.example.com", days=-3)
    assert expired["not_after"] < datetime.datetime.now(datetime.UTC)
    sstp = ps_props(ntlm_node.run("Get-ItemProperty", Path=SSTP).output[0])
    assert sstp["SHA1CertificateHash"].hex().upper() == expired["thumbprint"]

    # with the hash configured by the administrator (TLS offload) binding leaves the hashes alone
    ntlm_node.run(
        "New-ItemProperty", "Force", Path=SSTP, Name="isHashConfiguredByAdmin", Value=1, PropertyType="DWord"
    )
    ntlm_node.run("New-ItemProperty", "Force", Path=SSTP, Name="UseHttps", Value=0, PropertyType="DWord")
    backend.set_sstp_certificate(subject="CN=third.example.com", days=90)
    sstp = ps_props(ntlm_node.run("Get-ItemProperty", Path=SSTP).output[0])
    assert sstp["SHA1CertificateHash"].hex().upper() == expired["thumbprint"]
    assert ps_props(ntlm_node.run("Get-RemoteAccess").output[0])["UseHttp"] is True

    backend.clear_sstp_certificate()
    assert _cert(ntlm_node) is None
    assert backend.dump_state()["saved"]["sstp_certificate"] is None  # persisted at once


def test_get_remote_access_binds_its_parameters_like_powershell(ntlm_node: Node) -> None:
    assert not ntlm_node.run("Get-RemoteAccess", Cn="rras7").streams.error
    ps = ntlm_node.run("Get-RemoteAccess", Thumbprint="x")
    assert ps.had_errors
    ((fqid, _, _),) = ps_errors(ps)
    assert fqid == "NamedParameterNotFound,Get-RemoteAccess"


def test_the_build_and_the_schannel_keys_of_a_fresh_node(ntlm_node: Node) -> None:
    build = ps_props(
        ntlm_node.run("Get-ItemProperty", Path=CURRENT_VERSION, Name="CurrentBuildNumber").output[0]
    )
    assert build["CurrentBuildNumber"] == "14393"  # REG_SZ, as Windows stores it
    assert ps_props(ntlm_node.run("Get-ItemProperty", Path=CURRENT_VERSION).output[0])["ProductName"] == (
        "Windows Server 2016 Datacenter"
    )
    client = ps_props(ntlm_node.run("Get-ItemProperty", Path=PROTOCOLS + r"\SSL 2.0\Client").output[0])
    assert client["DisabledByDefault"] == 1
    for missing in (PROTOCOLS + r"\TLS 1.0\Server", CIPHERS):
        ps = ntlm_node.run("Get-ItemProperty", Path=missing)
        ((fqid, _, text),) = ps_errors(ps)
        assert fqid == "PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand"
        assert text == f"Cannot find path '{missing}' because it does not exist." and not ps.had_errors


def test_schannel_values_take_effect_at_a_reboot(ntlm_node: Node) -> None:
    backend = ntlm_node.twin.backend
    assert backend.tls_runtime()["pending_reboot"] is False
    path = PROTOCOLS + r"\TLS 1.1\Server"
    no_key = ntlm_node.run("New-ItemProperty", Path=path, Name="Enabled", Value=0, PropertyType="DWord")
    assert ps_errors(no_key)[0][0] == "PathNotFound,Microsoft.PowerShell.Commands.NewItemPropertyCommand"
    assert not ntlm_node.run("New-Item", "Force", Path=path).streams.error  # parents made too
    assert not ntlm_node.run(
        "New-ItemProperty", Path=path, Name="Enabled", Value=0, PropertyType="DWord"
    ).streams.error
    order = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    ntlm_node.run("New-Item", "Force", Path=CIPHERS)
    ntlm_node.run(
        "New-ItemProperty", "Force", Path=CIPHERS, Name="Functions", Value=order, PropertyType="String"
    )
    assert ps_props(ntlm_node.run("Get-ItemProperty", Path=CIPHERS).output[0])["Functions"] == order

    runtime = ntlm_node.twin.admin().state()["runtime"]["tls"]
    assert runtime["pending_reboot"] is True
    assert not any("TLS 1.1" in key for key in runtime["effective"])
    # a service restart is not enough: Schannel reads them at boot
    ntlm_node.run("Restart-Service", "Force", Name="RemoteAccess")
    assert backend.tls_runtime()["pending_reboot"] is True
    backend.reboot()
    after = backend.tls_runtime()
    assert after["pending_reboot"] is False
    key = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
    assert after["effective"][key + "\\TLS 1.1\\Server"]["Enabled"] == {"kind": "DWord", "value": 0}


def test_factory_certificate_and_its_hashes_agree_and_reset_makes_a_new_one(twin_factory: Any) -> None:
    twin: RunningTwin = twin_factory("winrm", nodes=["rras1", "rras2"])
    backends = {app.backend.hostname: app.backend for app in twin.app.vendor_app.nodes.values()}
    first = backends["rras2"].sstp_certificate()
    assert first is not None and first["subject"] == "CN=rras2"
    hashes = backends["rras2"].running["registry"][SSTP_KEY]
    assert hashes["SHA256CertificateHash"]["value"] == first["sha256"]
    assert first["not_after"] - datetime.datetime.now(datetime.UTC) > datetime.timedelta(days=364)
    backends["rras2"].factory_reset()
    assert backends["rras2"].sstp_certificate()["thumbprint"] != first["thumbprint"]
    assert backends["rras1"].sstp_certificate()["subject"] == "CN=rras1"


def _request(method: str, body: Any = None) -> Request:
    return Request(EnvironBuilder(method=method, path="/_twin/sstp-certificate", json=body).get_environ())


def test_the_admin_route_binds_and_reports(tls: TLSMaterial, twin_factory: Any) -> None:
    twin: RunningTwin = twin_factory("winrm", hostname="rras3")
    backend = twin.backend
    put = admin_route(
        _request("PUT", {"subject": "CN=short.example.com", "days": 10}), backend, "sstp-certificate"
    )
    assert put is not None and put.status_code == 200
    made = put.get_json()
    assert made["subject"] == "CN=short.example.com" and "der" not in made
    got = admin_route(_request("GET"), backend, "sstp-certificate")
    assert got is not None and got.get_json()["thumbprint"] == made["thumbprint"]
    tls_state = admin_route(_request("GET"), backend, "tls")
    assert (
        tls_state is not None and tls_state.get_json()["sstp_certificate"]["thumbprint"] == made["thumbprint"]
    )
    deleted = admin_route(_request("DELETE"), backend, "sstp-certificate")
    assert deleted is not None and backend.sstp_certificate() is None
    assert admin_route(_request("GET"), backend, "other") is None
