"""The RRAS checks of the audit: one node read over PowerShell Remoting, only with commands that read, and
the pitfalls the field's articles warn about, each with the evidence as Windows spells it.

What is read (one command each, over the project's NodeSession, providers/rras/session.py):
- ``Get-CimInstance -ClassName Win32_OperatingSystem``: the computer name (CSName) and BuildNumber;
- ``Get-VpnServerConfiguration -TunnelType IKEv2``: the Default class (no CustomPolicy, what RRAS negotiates
  then is 3DES / SHA-1 / DH group 2) or the Custom class with the six crypto values
  (docs/rras.md#reading-the-policy-back; uint32, enum objects or names: providers/rras/values.py);
- ``Get-ItemProperty`` of ``RemoteAccess\\Parameters\\Ikev2`` (EnableServerFragmentation),
  ``IKEEXT\\Parameters`` (IkeNumEstablishedForInitialQuery) and ``SstpSvc\\Parameters`` (UseHttps,
  isHashConfiguredByAdmin, SHA256CertificateHash): the whole key, so an absent value is no error record; a
  missing key (PathNotFound) reads as every value absent;
- ``Get-RemoteAccess``: the certificate SSTP presents (SslCertificate) and its NotAfter.

The checks (``check`` ids, severity, what users see; docs/rras.md#auditing-a-node for the facts):
- ``rras.default-policy`` / ``rras.weak-policy`` (warning): no custom policy (3DES/SHA-1/DH2), or one with a
  value below the declaration's baseline (``components.declaration.WEAK_VALUES``); clients whose profile
  carries the baseline fail with 13868, and an Automatic profile hides it as 800;
- ``rras.fragmentation-off`` (warning): EnableServerFragmentation not 1 on a build that has it (17134 or
  later): large IKE_AUTH messages are IP-fragmented, dropped on the way, and the client fails with 809;
  ``rras.fragmentation-unsupported`` (info) below that build;
- ``rras.sa-limit-missing`` (critical) / ``rras.sa-limit-low`` (warning): the load balancer translates the
  client address and IkeNumEstablishedForInitialQuery is absent or below ``SA_LIMIT_LOW``: every client comes
  from one address and the node refuses connections under load (809);
- ``sstp.offload-use-https``, ``sstp.offload-hash-missing``, ``sstp.offload-hash-mismatch`` (critical),
  ``sstp.offload-hash-not-pinned`` (warning), ``sstp.use-http-without-offload`` (critical): SSTP offload half
  done (docs/rras.md#sstp-tls-offload);
- ``cert.expired`` (critical), ``cert.expiring`` (warning, within 30 days), ``cert.missing`` (critical):
  the certificate the node presents to SSTP clients (docs/rras.md#sstp-certificate-expiry).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.declaration import FRAGMENTATION_MIN_BUILD, WEAK_VALUES, Management
from components.rras import IKEEXT_KEY, IKEV2_KEY, SSTP_KEY
from ops.audit.model import Evidence, Finding, FoundNode, FoundService, NodeAudit
from providers.common.errors import ProviderError
from providers.rras.certificate import WARN_WITHIN, days_left, from_ssl_certificate
from providers.rras.objects import INT_PARAMETERS, READBACK, prop
from providers.rras.session import NodeConnection, NodeSession, RrasCommandError
from providers.rras.tls import path_not_found
from providers.rras.values import declared_name

#: Below this IkeNumEstablishedForInitialQuery counts as low behind a translating load balancer. The audit's
#: own threshold: Windows' default is about 10 and the field's script sets 50000, about twice the connections
#: expected from one source address (docs/rras.md#ike-initial-query-limit).
SA_LIMIT_LOW = 1000
VPN_CMDLET = "Get-VpnServerConfiguration -TunnelType IKEv2"
OS_CLASS = "Win32_OperatingSystem"
REMOTE_ACCESS = "Get-RemoteAccess"
#: The declaration's ipsec field for each Set-VpnServerConfiguration parameter.
IPSEC_FIELD = {
    "EncryptionMethod": "encryptionMethod",
    "IntegrityCheckMethod": "integrityCheckMethod",
    "CipherTransformConstants": "cipherTransformConstants",
    "AuthenticationTransformConstants": "authenticationTransformConstants",
    "DHGroup": "dhGroup",
    "PfsGroup": "pfsGroup",
    "SALifeTimeSeconds": "saLifeTimeSeconds",
    "MMSALifeTimeSeconds": "mmSaLifeTimeSeconds",
    "SADataSizeForRenegotiationKilobytes": "saDataSizeForRenegotiationKilobytes",
}
BASELINE_TEXT = (
    "EncryptionMethod AES128, IntegrityCheckMethod SHA256, CipherTransformConstants AES128, "
    "AuthenticationTransformConstants SHA256128, DHGroup Group14, PfsGroup PFS2048"
)
POLICY_FIX = (
    "Set-VpnServerConfiguration -TunnelType IKEv2 -CustomPolicy with the baseline ("
    + BASELINE_TEXT
    + ") and restart RemoteAccess (drained); declaration: ipsec.preset baseline (or enhanced on build 17134 "
    "or later), which the written declaration carries. Clients must get the same CryptographySuite in a "
    "profile with NativeProtocolType IKEv2 (with Automatic it is ignored and clients report 800)."
)


@dataclass
class _Read:
    """What the node answered, raw, with the command it came from."""

    os: Any
    vpn: Any
    ikev2: dict[str, Any]
    ikeext: dict[str, Any]
    sstp: dict[str, Any]
    remote_access: Any


def _plain(value: Any) -> Any:
    """A value as JSON can carry it: bytes as upper-case hex, PowerShell objects by their text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex().upper()
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return bytes(value).hex().upper()
        return [_plain(v) for v in value]
    text = getattr(value, "to_string", None) or getattr(value, "value", None)
    return str(text if text is not None else value)


def _key(session: NodeSession, path: str) -> dict[str, Any]:
    """The values of a registry key by name (case as Windows answers it); {} when the key is missing."""
    try:
        out = session.invoke("Get-ItemProperty", {"Path": path})
    except RrasCommandError as exc:
        if path_not_found(exc):
            return {}
        raise
    values: dict[str, Any] = {}
    for obj in out[:1]:
        for attr in ("adapted_properties", "extended_properties"):
            for name, value in (getattr(obj, attr, None) or {}).items():
                if not str(name).startswith("PS"):
                    values[str(name)] = value
        if isinstance(obj, dict):
            values.update({str(k): v for k, v in obj.items()})
    return values


def _value(values: dict[str, Any], name: str) -> Any:
    for key, value in values.items():
        if key.lower() == name.lower():
            return value
    return None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(str(_plain(value)).strip(), 0)
    except ValueError:
        return None
    return number + (1 << 32) if number < 0 else number  # a DWORD above 0x7FFFFFFF reads back as Int32


def read_node(session: NodeSession) -> _Read:
    """Every read the checks need, in one pass; commands that only read (``Get-``)."""
    os_out = session.invoke("Get-CimInstance", {"ClassName": OS_CLASS})
    vpn_out = session.invoke("Get-VpnServerConfiguration", {"TunnelType": "IKEv2"})
    ikev2, ikeext, sstp = (_key(session, k) for k in (IKEV2_KEY, IKEEXT_KEY, SSTP_KEY))
    ra_out = session.invoke("Get-RemoteAccess")
    return _Read(
        os_out[0] if os_out else None,
        vpn_out[0] if vpn_out else None,
        ikev2,
        ikeext,
        sstp,
        ra_out[0] if ra_out else None,
    )


def _custom(vpn: Any) -> bool:
    return str(prop(vpn, "CustomPolicy")).lower() in ("true", "1")


def _ipsec(vpn: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The custom policy in the declaration's spelling (None: the default policy), and per parameter the raw
    value the node sent."""
    if vpn is None or not _custom(vpn):
        return None, {}
    policy: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for parameter, readback in READBACK.items():
        value = prop(vpn, readback)
        if value is None:
            continue
        raw[parameter] = value
        if parameter in INT_PARAMETERS:
            number = _int(value)
            if number is not None:
                policy[IPSEC_FIELD[parameter]] = number
        else:
            policy[IPSEC_FIELD[parameter]] = declared_name(parameter, value)
    return policy, raw


def found_node(address: str, management: Management | None, read: _Read, name: str | None) -> FoundNode:
    policy, _ = _ipsec(read.vpn)
    fragmentation = _int(_value(read.ikev2, "EnableServerFragmentation"))
    sha256 = _value(read.sstp, "SHA256CertificateHash")
    try:
        certificate = from_ssl_certificate(prop(read.remote_access, "SslCertificate"))
    except ValueError:
        certificate = None
    computer = prop(read.os, "CSName")
    return FoundNode(
        address=address,
        computer_name=str(_plain(computer)) if computer is not None else None,
        windows_build=_int(prop(read.os, "BuildNumber")),
        ipsec=policy,
        ikev2_fragmentation=None if fragmentation is None else fragmentation == 1,
        ike_num_established_for_initial_query=_int(_value(read.ikeext, "IkeNumEstablishedForInitialQuery")),
        sstp_use_https=_int(_value(read.sstp, "UseHttps")),
        sstp_certificate_sha256=str(_plain(sha256)).upper() if sha256 is not None else None,
        certificate_expires=certificate.record()["not_after"] if certificate else None,
        name=name,
        management=management.model_dump(by_alias=True, exclude_none=True) if management else None,
        certificate_subject=certificate.subject if certificate else None,
        sstp_hash_configured_by_admin=_int(_value(read.sstp, "isHashConfiguredByAdmin")),
    )


# -- the checks -------------------------------------------------------------------------------------------
def _policy_findings(device: str, read: _Read) -> list[Finding]:
    if read.vpn is None:
        return []
    if not _custom(read.vpn):
        return [
            Finding(
                check="rras.default-policy",
                severity="warning",
                title="no custom IKEv2 IPsec policy: RRAS negotiates its default, 3DES / SHA-1 / DH group 2",
                evidence=(
                    Evidence(device, VPN_CMDLET, "CustomPolicy", _plain(prop(read.vpn, "CustomPolicy"))),
                    Evidence(device, VPN_CMDLET, "EncryptionType", _plain(prop(read.vpn, "EncryptionType"))),
                ),
                symptom="error 13868 (ERROR_IPSEC_IKE_POLICY_MATCH) for clients whose profile carries the "
                "baseline CryptographySuite; the others connect with 3DES / SHA-1 / DH group 2",
                fix=POLICY_FIX,
            )
        ]
    _, raw = _ipsec(read.vpn)
    weak: list[Evidence] = []
    names: list[str] = []
    for parameter, value in raw.items():
        if parameter in INT_PARAMETERS:
            continue
        name = declared_name(parameter, value)
        if name in WEAK_VALUES[IPSEC_FIELD[parameter]]:
            weak.append(Evidence(device, VPN_CMDLET, READBACK[parameter], _plain(value)))
            names.append(f"{parameter} {name}")
    if not weak:
        return []
    return [
        Finding(
            check="rras.weak-policy",
            severity="warning",
            title="the custom IKEv2 IPsec policy is weaker than the baseline: " + ", ".join(names),
            evidence=tuple(weak),
            symptom="weak crypto for every client; clients whose profile carries the baseline "
            "CryptographySuite fail with error 13868 (ERROR_IPSEC_IKE_POLICY_MATCH)",
            fix=POLICY_FIX,
        )
    ]


def _fragmentation_findings(device: str, read: _Read, build: int | None) -> list[Finding]:
    raw = _value(read.ikev2, "EnableServerFragmentation")
    evidence = (Evidence(device, IKEV2_KEY, "EnableServerFragmentation", _plain(raw)),)
    if build is not None and build < FRAGMENTATION_MIN_BUILD:
        return [
            Finding(
                check="rras.fragmentation-unsupported",
                severity="info",
                title=f"Windows build {build} has no IKEv2 fragmentation (it needs build "
                f"{FRAGMENTATION_MIN_BUILD}, Windows Server 1803, or later)",
                evidence=(*evidence, Evidence(device, OS_CLASS, "BuildNumber", build)),
                symptom="error 809 for clients whose IKE_AUTH messages (certificate chains) are fragmented "
                "and dropped by a firewall on the way",
                fix="upgrade the node to Windows Server 2019 or later, then set EnableServerFragmentation; "
                "until then declare ikev2Fragmentation: false",
            )
        ]
    if _int(raw) == 1:
        return []
    return [
        Finding(
            check="rras.fragmentation-off",
            severity="warning",
            title="IKEv2 fragmentation is off"
            + (" (EnableServerFragmentation absent)" if raw is None else ""),
            evidence=evidence,
            symptom="error 809 for clients whose IKE_AUTH messages (certificate chains) are IP-fragmented "
            "and dropped by a firewall or NAT device on the way",
            fix=f"New-ItemProperty -Path '{IKEV2_KEY}' -Name EnableServerFragmentation -PropertyType DWord "
            "-Value 1 -Force and restart RemoteAccess; declaration: ikev2Fragmentation: true (the default)",
        )
    ]


def _sa_limit_findings(device: str, read: _Read, translated: list[FoundService]) -> list[Finding]:
    if not translated:
        return []
    raw = _value(read.ikeext, "IkeNumEstablishedForInitialQuery")
    number = _int(raw)
    if number is not None and number >= SA_LIMIT_LOW:
        return []
    vips = ", ".join(sorted({s.virtual_address for s in translated}))
    evidence = (Evidence(device, IKEEXT_KEY, "IkeNumEstablishedForInitialQuery", _plain(raw)),)
    fix = (
        f"preserve the client address on the load balancer (the better fix: clientAddress: preserved); where "
        f"the nodes cannot route back through it, New-ItemProperty -Path '{IKEEXT_KEY}' -Name "
        "IkeNumEstablishedForInitialQuery -PropertyType DWord -Value 50000 -Force and restart IKEEXT; "
        "declaration: clientAddress: translated with ikeNumEstablishedForInitialQuery: 50000"
    )
    symptom = (
        "error 809 under load: every client arrives from the load balancer's address and the node refuses "
        "IKE SAs beyond its per-address limit"
    )
    if number is None:
        return [
            Finding(
                "rras.sa-limit-missing",
                "critical",
                f"the load balancer translates client addresses ({vips}) and "
                "IkeNumEstablishedForInitialQuery is not set",
                evidence,
                symptom,
                fix,
            )
        ]
    return [
        Finding(
            "rras.sa-limit-low",
            "warning",
            f"the load balancer translates client addresses ({vips}) and IkeNumEstablishedForInitialQuery is "
            f"only {number} (below {SA_LIMIT_LOW})",
            evidence,
            symptom,
            fix,
        )
    ]


def _sstp_findings(device: str, read: _Read, sstp: list[FoundService]) -> list[Finding]:
    use_https_raw = _value(read.sstp, "UseHttps")
    use_https = _int(use_https_raw)
    sha_raw = _value(read.sstp, "SHA256CertificateHash")
    sha = str(_plain(sha_raw)).upper() if sha_raw is not None else None
    admin_raw = _value(read.sstp, "isHashConfiguredByAdmin")
    use_ev = Evidence(device, SSTP_KEY, "UseHttps", _plain(use_https_raw))
    sha_ev = Evidence(device, SSTP_KEY, "SHA256CertificateHash", _plain(sha_raw))
    admin_ev = Evidence(device, SSTP_KEY, "isHashConfiguredByAdmin", _plain(admin_raw))
    fix_offload = (
        f"under {SSTP_KEY}: UseHttps DWord 0, isHashConfiguredByAdmin DWord 1, SHA256CertificateHash Binary "
        "= the SHA-256 hash of the load balancer's certificate (SHA1CertificateHash removed), then restart "
        "RemoteAccess -Force; declaration: sstp.tlsOffload (certificateSecret, privateKeySecret)"
    )
    findings: list[Finding] = []
    offloaded = [s for s in sstp if s.offload_certificate_sha256 and not s.offload_reencrypt]
    passed = [s for s in sstp if not s.offload_certificate_sha256 and not s.offload_certificate_sha1]
    for service in offloaded:
        lb_ev = Evidence(
            service.device,
            f"SSTP {service.virtual_address}:443",
            "certificate SHA-256",
            service.offload_certificate_sha256,
        )
        if use_https != 0:
            findings.append(
                Finding(
                    "sstp.offload-use-https",
                    "critical",
                    f"the load balancer offloads SSTP TLS ({service.virtual_address}) but the node still "
                    "expects HTTPS (UseHttps is not 0)",
                    (use_ev, lb_ev),
                    "SSTP clients cannot connect (the node does not answer the load balancer's plain HTTP, "
                    "whose health check marks it down): error 809, or 800 with an Automatic profile",
                    fix_offload,
                )
            )
        elif sha is None:
            findings.append(
                Finding(
                    "sstp.offload-hash-missing",
                    "critical",
                    "UseHttps is 0 but SHA256CertificateHash is not set: the node does not know the "
                    "certificate clients see",
                    (use_ev, sha_ev, lb_ev),
                    "SSTP clients are refused after the TLS handshake: the SSTP crypto binding carries the "
                    "hash of the load balancer's certificate (unconfirmed: the client's error code)",
                    fix_offload,
                )
            )
        elif sha != str(service.offload_certificate_sha256).upper():
            findings.append(
                Finding(
                    "sstp.offload-hash-mismatch",
                    "critical",
                    "SHA256CertificateHash is not the hash of the load balancer's certificate",
                    (sha_ev, lb_ev),
                    "SSTP clients are refused after the TLS handshake: the SSTP crypto binding carries the "
                    "hash of the load balancer's certificate (unconfirmed: the client's error code)",
                    fix_offload,
                )
            )
        elif _int(admin_raw) != 1:
            findings.append(
                Finding(
                    "sstp.offload-hash-not-pinned",
                    "warning",
                    "SHA256CertificateHash is right but isHashConfiguredByAdmin is not 1: RRAS may replace "
                    "it with its own certificate's hash",
                    (admin_ev, sha_ev),
                    "SSTP clients are refused after a RemoteAccess restart or a certificate renewal on the "
                    "node",
                    fix_offload,
                )
            )
    if passed and use_https == 0:
        vips = ", ".join(sorted({s.virtual_address for s in passed}))
        findings.append(
            Finding(
                "sstp.use-http-without-offload",
                "critical",
                f"UseHttps is 0 (plain HTTP) but the load balancer passes SSTP TLS through ({vips})",
                (use_ev,),
                "SSTP clients cannot connect: their TLS reaches a node that speaks plain HTTP "
                "(error 809, or 800 with an Automatic profile)",
                f"Remove-ItemProperty -Path '{SSTP_KEY}' -Name UseHttps,isHashConfiguredByAdmin and restart "
                "RemoteAccess -Force, or offload TLS on the load balancer; declaration: no sstp.tlsOffload",
            )
        )
    return findings


def _certificate_findings(device: str, read: _Read, now: datetime.datetime | None = None) -> list[Finding]:
    raw = prop(read.remote_access, "SslCertificate") if read.remote_access is not None else None
    try:
        certificate = from_ssl_certificate(raw)
    except ValueError as exc:
        return [
            Finding(
                "cert.unreadable",
                "info",
                f"the SSTP certificate could not be read ({exc})",
                (Evidence(device, REMOTE_ACCESS, "SslCertificate", _plain(raw)),),
                "none known: the audit cannot tell when it expires",
                "check it on the node: (Get-RemoteAccess).SslCertificate",
            )
        ]
    if certificate is None:
        return [
            Finding(
                "cert.missing",
                "critical",
                "no certificate is bound for SSTP",
                (Evidence(device, REMOTE_ACCESS, "SslCertificate", None),),
                "SSTP clients cannot connect (no TLS certificate): error 809, or 800 with an Automatic "
                "profile",
                "bind the public certificate for SSTP: Set-RemoteAccess -SslCertificate (Get-ChildItem "
                "Cert:\\LocalMachine\\My\\<thumbprint>) and restart RemoteAccess",
            )
        ]
    now = now or datetime.datetime.now(datetime.UTC)
    not_after = certificate.record()["not_after"]
    evidence = (Evidence(device, REMOTE_ACCESS, "SslCertificate.NotAfter", not_after),)
    fix = (
        "renew the certificate (the same public name), import it into Cert:\\LocalMachine\\My and bind it: "
        "Set-RemoteAccess -SslCertificate, restart RemoteAccess; with TLS offload update the load balancer's "
        "certificate and SHA256CertificateHash"
    )
    if certificate.not_after <= now:
        return [
            Finding(
                "cert.expired",
                "critical",
                f"the SSTP certificate {certificate.subject} (thumbprint {certificate.thumbprint}) expired "
                f"on {not_after}",
                evidence,
                "SSTP clients cannot connect (certificate expired): error 809, or 800 with an Automatic "
                "profile",
                fix,
            )
        ]
    if certificate.not_after - now <= WARN_WITHIN:
        days = days_left(not_after, now)
        return [
            Finding(
                "cert.expiring",
                "warning",
                f"the SSTP certificate {certificate.subject} (thumbprint {certificate.thumbprint}) expires "
                f"in {days} day{'s' if days != 1 else ''}, on {not_after}",
                evidence,
                "SSTP clients cannot connect once it has expired",
                fix,
            )
        ]
    return []


def check(
    address: str,
    read: _Read,
    services: Sequence[FoundService],
    name: str | None = None,
    now: datetime.datetime | None = None,
) -> list[Finding]:
    """The findings of one node from what it answered. With no service found behind a virtual address
    (``services`` empty) every protocol's checks apply, the load balancer's part unknown."""
    computer = prop(read.os, "CSName")
    device = str(_plain(computer)) if computer is not None else (name or address)
    build = _int(prop(read.os, "BuildNumber"))
    ikev2 = not services or any("ikev2" in s.protocols for s in services)
    sstp_services = [s for s in services if "sstp" in s.protocols]
    findings: list[Finding] = []
    if ikev2:
        findings += _policy_findings(device, read)
        findings += _fragmentation_findings(device, read, build)
        translated = [s for s in services if "ikev2" in s.protocols and s.client_address == "translated"]
        findings += _sa_limit_findings(device, read, translated)
    findings += _sstp_findings(device, read, sstp_services)
    node_certificate = not services or any(
        not s.offload_certificate_sha256 or s.offload_reencrypt for s in sstp_services
    )
    if node_certificate:
        findings += _certificate_findings(device, read, now)
    return findings


def _connection(address: str, management: Management, name: str | None) -> NodeConnection:
    return NodeConnection(
        name=name or address,
        endpoint=management.endpoint,
        user=management.user,
        password_key=management.password_secret,
        auth=management.auth,
        ca_bundle=management.ca_bundle,
        kerberos_hostname=management.kerberos_hostname,
        configuration_name=management.configuration_name,
    )


def audit_node(
    address: str,
    management: Management,
    password: str,
    services: Sequence[FoundService],
    name: str | None = None,
) -> NodeAudit:
    """Read the node at ``address`` through ``management`` and check it (see the module docstring). A node
    that cannot be read answers a NodeAudit with ``error`` set (the provider's message), never a traceback."""
    session = NodeSession(_connection(address, management, name), password)
    try:
        read = read_node(session)
    except ProviderError as exc:
        empty = FoundNode(address, None, None, None, None, None, None, None, None, name=name)
        empty.management = management.model_dump(by_alias=True, exclude_none=True)
        return NodeAudit(empty, [], error=str(exc))
    finally:
        session.close()
    return NodeAudit(found_node(address, management, read, name), check(address, read, services, name))
