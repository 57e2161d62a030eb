"""The RRAS checks of the audit against the WinRM twin, each node set up by hand through pypsrp as the field's
articles do it (Set-VpnServerConfiguration -CustomPolicy, New-ItemProperty / Set-ItemProperty under
IKEEXT, RemoteAccess\\Parameters\\Ikev2 and SstpSvc\\Parameters, Restart-Service RemoteAccess): once correctly
and once per pitfall, under host names the project would never choose. The audit must find exactly the
planted pitfall (nothing on a correct node) and send the node nothing but Get- cmdlets (the twin's log).

The SSTP certificate a node binds is set through the twin's admin route (the twin has no Set-RemoteAccess
-SslCertificate); everything else goes through PowerShell Remoting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from components.declaration import Management
from components.rras import IKEEXT_KEY, IKEV2_KEY, SSTP_KEY
from emulators.common import RunningTwin, TLSMaterial, start_twin
from ops.audit.model import FoundService, NodeAudit
from ops.audit.rras import audit_node

USER, PASSWORD = "automation", "automation-pass"
#: The SHA-256 of the certificate the load balancer presents for SSTP (the offload's).
LB_SHA256 = hashlib.sha256(b"the load balancer's certificate").hexdigest().upper()

Step = tuple[str, dict[str, Any], tuple[str, ...]]

BASELINE: Step = (
    "Set-VpnServerConfiguration",
    {
        "TunnelType": "IKEv2",
        "EncryptionMethod": "AES128",
        "IntegrityCheckMethod": "SHA256",
        "CipherTransformConstants": "AES128",
        "AuthenticationTransformConstants": "SHA256128",
        "DHGroup": "Group14",
        "PfsGroup": "PFS2048",
        "SALifeTimeSeconds": 28800,
        "MMSALifeTimeSeconds": 86400,
        "SADataSizeForRenegotiationKilobytes": 1024000,
    },
    ("CustomPolicy", "PassThru"),
)
WEAK: Step = (
    "Set-VpnServerConfiguration",
    {**BASELINE[1], "EncryptionMethod": "DES3", "IntegrityCheckMethod": "SHA1", "DHGroup": "Group2"},
    ("CustomPolicy",),
)


def dword(key: str, name: str, value: int) -> Step:
    return (
        "New-ItemProperty",
        {"Path": key, "Name": name, "PropertyType": "DWord", "Value": value},
        ("Force",),
    )


FRAGMENTATION = dword(IKEV2_KEY, "EnableServerFragmentation", 1)
SA_LIMIT = dword(IKEEXT_KEY, "IkeNumEstablishedForInitialQuery", 50000)
USE_HTTP = dword(SSTP_KEY, "UseHttps", 0)
PIN = dword(SSTP_KEY, "isHashConfiguredByAdmin", 1)
LB_HASH: Step = (
    "Set-ItemProperty",
    {"Path": SSTP_KEY, "Name": "SHA256CertificateHash", "Value": bytes.fromhex(LB_SHA256), "Type": "Binary"},
    (),
)
NO_SHA1: Step = ("Remove-ItemProperty", {"Path": SSTP_KEY, "Name": "SHA1CertificateHash"}, ())
NO_SHA256: Step = ("Remove-ItemProperty", {"Path": SSTP_KEY, "Name": "SHA256CertificateHash"}, ())
RESTART: Step = ("Restart-Service", {"Name": "RemoteAccess"}, ("Force",))

#: TLS offloaded to plain HTTP, client address translated: every workaround needed.
OFFLOAD_STEPS = [BASELINE, FRAGMENTATION, SA_LIMIT, USE_HTTP, PIN, LB_HASH, NO_SHA1, RESTART]
#: TLS passed through to the nodes, client address preserved.
PASSTHROUGH_STEPS = [BASELINE, FRAGMENTATION, RESTART]


def without(steps: list[Step], *gone: Step) -> list[Step]:
    return [s for s in steps if s not in gone]


def replaced(steps: list[Step], old: Step, new: Step) -> list[Step]:
    return [new if s == old else s for s in steps]


@dataclass
class Scenario:
    name: str
    offload: bool
    steps: list[Step]
    expected: set[str]
    #: the twin's admin set-up after the steps: the node's SSTP certificate (days left; None: unbound)
    certificate_days: float | str | None = "factory"
    readback_form: str = "uint32"


SCENARIOS = [
    Scenario("correct-offload", True, OFFLOAD_STEPS, set()),
    Scenario("default-policy", True, without(OFFLOAD_STEPS, BASELINE), {"rras.default-policy"}),
    Scenario("weak-policy", True, replaced(OFFLOAD_STEPS, BASELINE, WEAK), {"rras.weak-policy"}),
    Scenario(
        "weak-policy-enum",
        True,
        replaced(OFFLOAD_STEPS, BASELINE, WEAK),
        {"rras.weak-policy"},
        readback_form="enum",
    ),
    Scenario(
        "fragmentation-off",
        True,
        replaced(OFFLOAD_STEPS, FRAGMENTATION, dword(IKEV2_KEY, "EnableServerFragmentation", 0)),
        {"rras.fragmentation-off"},
    ),
    Scenario("fragmentation-absent", True, without(OFFLOAD_STEPS, FRAGMENTATION), {"rras.fragmentation-off"}),
    Scenario("sa-limit-missing", True, without(OFFLOAD_STEPS, SA_LIMIT), {"rras.sa-limit-missing"}),
    Scenario(
        "sa-limit-low",
        True,
        replaced(OFFLOAD_STEPS, SA_LIMIT, dword(IKEEXT_KEY, "IkeNumEstablishedForInitialQuery", 10)),
        {"rras.sa-limit-low"},
    ),
    Scenario("offload-use-https", True, without(OFFLOAD_STEPS, USE_HTTP), {"sstp.offload-use-https"}),
    Scenario(
        "offload-hash-missing",
        True,
        replaced(OFFLOAD_STEPS, LB_HASH, NO_SHA256),
        {"sstp.offload-hash-missing"},
    ),
    Scenario("offload-hash-mismatch", True, without(OFFLOAD_STEPS, LB_HASH), {"sstp.offload-hash-mismatch"}),
    Scenario("offload-hash-not-pinned", True, without(OFFLOAD_STEPS, PIN), {"sstp.offload-hash-not-pinned"}),
    Scenario("correct-passthrough", False, PASSTHROUGH_STEPS, set()),
    Scenario(
        "http-without-offload",
        False,
        [*PASSTHROUGH_STEPS[:-1], USE_HTTP, RESTART],
        {"sstp.use-http-without-offload"},
    ),
    Scenario("cert-expiring", False, PASSTHROUGH_STEPS, {"cert.expiring"}, certificate_days=10),
    Scenario("cert-expired", False, PASSTHROUGH_STEPS, {"cert.expired"}, certificate_days=-3),
    Scenario("cert-missing", False, PASSTHROUGH_STEPS, {"cert.missing"}, certificate_days=None),
]
#: Host names as a person names servers, never the project's rras1..N.
HOSTS = {s.name: f"VPNGW-{i:02d}" for i, s in enumerate(SCENARIOS, start=1)}
ADDRESSES = {s.name: f"198.51.100.{100 + i}" for i, s in enumerate(SCENARIOS, start=1)}


@pytest.fixture(scope="module")
def winrm(tls: TLSMaterial) -> Iterator[RunningTwin]:
    twin = start_twin("winrm", tls=tls, nodes=list(HOSTS.values()))
    yield twin
    twin.stop()


def _admin(twin: RunningTwin, host: str, sub: str, method: str = "GET", body: Any = None) -> Any:
    return twin.admin()._call(method, f"nodes/{host}/{sub}", body)


def by_hand(twin: RunningTwin, tls: TLSMaterial, host: str, steps: list[Step]) -> None:
    """An administrator's PowerShell session to the node: each cmdlet with its parameters, no error."""
    port = int(str(twin.url).rsplit(":", 1)[1])
    wsman = WSMan(
        "127.0.0.1",
        port=port,
        path=f"{host}/wsman",
        ssl=True,
        auth="ntlm",
        username=USER,
        password=PASSWORD,
        cert_validation=str(tls.ca_path),
        encryption="auto",
    )
    with wsman, RunspacePool(wsman) as pool:
        for cmdlet, parameters, switches in steps:
            ps = PowerShell(pool)
            ps.add_cmdlet(cmdlet)
            for name, value in parameters.items():
                ps.add_parameter(name, value)
            for name in switches:
                ps.add_parameter(name)
            ps.invoke()
            assert not ps.had_errors and not ps.streams.error, (cmdlet, [str(e) for e in ps.streams.error])


def service(scenario: Scenario) -> FoundService:
    address = ADDRESSES[scenario.name]
    return FoundService(
        vendor="f5",
        device="lb.corp.example",
        virtual_address="203.0.113.10",
        protocols=["ikev2", "sstp"],
        node_addresses=[address],
        client_address="translated" if scenario.offload else "preserved",
        objects={"virtual_500": "/Common/AOVPN-IKE-500"},
        offload_certificate_sha256=LB_SHA256 if scenario.offload else None,
    )


#: The nodes already set up (once per module: the steps are not all repeatable, Remove-ItemProperty of a
#: value already removed writes an error record).
_CONFIGURED: set[str] = set()


def audited(
    twin: RunningTwin, tls: TLSMaterial, scenario: Scenario
) -> tuple[NodeAudit, list[dict[str, Any]]]:
    """The scenario's node set up by hand (once), then audited; with the node's log of the audit."""
    host = HOSTS[scenario.name]
    if host not in _CONFIGURED:
        by_hand(twin, tls, host, scenario.steps)
        if scenario.certificate_days is None:
            _admin(twin, host, "sstp-certificate", "DELETE")
        elif scenario.certificate_days != "factory":
            days = {"subject": "CN=vpn.corp.example", "days": scenario.certificate_days}
            _admin(twin, host, "sstp-certificate", "PUT", days)
        if scenario.readback_form != "uint32":
            _admin(twin, host, "readback-form", "PUT", {"form": scenario.readback_form})
        _CONFIGURED.add(host)
    log = _admin(twin, host, "log")["entries"]
    mark = int(log[-1]["seq"]) if log else 0
    management = Management.model_validate(
        {
            "endpoint": f"{twin.url}/{host}/wsman",
            "user": USER,
            "passwordSecret": "rrasPassword",
            "caBundle": str(tls.ca_path),
        }
    )
    result = audit_node(ADDRESSES[scenario.name], management, PASSWORD, [service(scenario)])
    return result, list(_admin(twin, host, f"log?since={mark}")["entries"])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_audit_finds_exactly_the_planted_pitfall_and_only_reads(
    winrm: RunningTwin, tls: TLSMaterial, scenario: Scenario
) -> None:
    result, log = audited(winrm, tls, scenario)
    assert result.error is None
    assert {f.check for f in result.findings} == scenario.expected, [f.title for f in result.findings]
    assert result.node.computer_name == HOSTS[scenario.name].upper()
    assert result.node.windows_build == 20348
    cmdlets = [e["cmdlet"] for e in log if e.get("cmdlet")]
    assert "Get-VpnServerConfiguration" in cmdlets and "Get-RemoteAccess" in cmdlets
    assert [e for e in log if e.get("write")] == []
    assert all(c.startswith("Get-") for c in cmdlets), cmdlets
    for finding in result.findings:
        assert finding.evidence and finding.symptom and finding.fix


def test_evidence_names_the_object_and_value_as_windows_spells_them(
    winrm: RunningTwin, tls: TLSMaterial
) -> None:
    """The weak policy's evidence is the cmdlet, its read-back property names and the raw uint32 the node
    sent; the SA limit's is the registry key and value name, absent."""
    weak = next(s for s in SCENARIOS if s.name == "weak-policy")
    result, _ = audited(winrm, tls, weak)
    (finding,) = result.findings
    assert {(e.obj, e.prop, e.found) for e in finding.evidence} == {
        ("Get-VpnServerConfiguration -TunnelType IKEv2", "EncryptionMethod", 1),
        ("Get-VpnServerConfiguration -TunnelType IKEv2", "IntegrityCheckMethod", 1),
        ("Get-VpnServerConfiguration -TunnelType IKEv2", "DHGroup", 2),
    }
    assert "13868" in finding.symptom
    assert result.node.ipsec is not None and result.node.ipsec["encryptionMethod"] == "DES3"
    missing = next(s for s in SCENARIOS if s.name == "sa-limit-missing")
    result, _ = audited(winrm, tls, missing)
    (finding,) = result.findings
    assert finding.severity == "critical" and "809" in finding.symptom
    assert [(e.obj, e.prop, e.found) for e in finding.evidence] == [
        (IKEEXT_KEY, "IkeNumEstablishedForInitialQuery", None)
    ]


def test_an_unreachable_node_is_an_error_naming_it_not_a_traceback(tls: TLSMaterial) -> None:
    management = Management.model_validate(
        {
            "endpoint": "https://127.0.0.1:9/wsman",
            "user": USER,
            "passwordSecret": "p",
            "caBundle": str(tls.ca_path),
        }
    )
    result = audit_node("198.51.100.250", management, PASSWORD, [], name="edge9")
    assert result.findings == []
    assert result.error is not None and result.error.startswith(
        "node edge9: cannot reach https://127.0.0.1:9/wsman"
    )
    assert PASSWORD not in result.error


def test_the_audit_reads_through_the_project_s_jea_endpoint(tls: TLSMaterial) -> None:
    """Every read the audit sends is one the project's JEA role allows (jea/AovpnRras): a node reached with
    management.configurationName AovpnRras is read in full."""
    twin = start_twin("winrm", tls=tls, nodes=["JEA-NODE"], jea_configuration="AovpnRras")
    try:
        management = Management.model_validate(
            {
                "endpoint": f"{twin.url}/JEA-NODE/wsman",
                "user": USER,
                "passwordSecret": "rrasPassword",
                "caBundle": str(tls.ca_path),
                "configurationName": "AovpnRras",
            }
        )
        result = audit_node("198.51.100.99", management, PASSWORD, [])
    finally:
        twin.stop()
    assert result.error is None
    assert {f.check for f in result.findings} == {"rras.default-policy", "rras.fragmentation-off"}
    assert result.node.certificate_expires is not None and result.node.windows_build == 20348
