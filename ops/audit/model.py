"""What the audit finds: the Always On VPN services on a load balancer, the RRAS nodes behind them, and
the pitfalls in both, each with the evidence as the device has it, what users see and the fix.

Every vendor module (ops/audit/f5.py, citrix.py, kemp.py) and the RRAS module (ops/audit/rras.py) only
reads: it answers ``LoadBalancerAudit`` / ``NodeAudit`` from GETs (and PowerShell Get-* cmdlets), never a
write, so an audit can be pointed at a production cluster. ``ops.audit.report`` renders them for a person
and as JSON; ``ops.audit.declaration`` writes the stack declaration of what was found, with the fixes
applied and ``loadBalancer.adopt`` naming the objects the first ``up`` takes over.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: ``critical``: users cannot connect or are dropped (809, 13868, 800, intermittent drops);
#: ``warning``: works today but fails under load, on renewal or on failover; ``info``: worth knowing.
SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class Evidence:
    """One property of one object, as the device names and spells it (``found``: the raw value)."""

    device: str  # the load balancer's host, or the RRAS node's name / address
    obj: str  # the object as the device names it: "/Common/aovpn_ike_vs", "lbvserver AOVPN-500"
    prop: str  # the property as the device spells it: "sourceAddressTranslation.type", "usip"
    found: Any  # the value as the device returned it (None: absent)


@dataclass(frozen=True)
class Finding:
    """A pitfall the domain knows, found on a live cluster."""

    check: str  # stable id, "<scope>.<pitfall>": "lb.snat-automap", "lb.persistence-not-matched",
    # "rras.default-policy", "rras.sa-limit-missing", "sstp.offload-hash-mismatch", "cert.expiring", ...
    severity: str  # one of SEVERITIES
    title: str  # one line: what is wrong
    evidence: tuple[Evidence, ...]
    symptom: str  # what users see: "error 809 ...", "error 13868 ...", "intermittent drops ..."
    fix: str  # what to change, in the device's terms and in the declaration's

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FoundService:
    """One Always On VPN service found on a load balancer by its ports: UDP 500 and 4500 (IKEv2) and/or
    TCP 443 (SSTP) on one virtual address."""

    vendor: str  # the declaration's loadBalancer.kind: "f5", "citrix", "kemp"
    device: str  # host of the load balancer
    virtual_address: str
    protocols: list[str]  # "ikev2" when UDP 500 + 4500 are both there, "sstp" when TCP 443 is
    node_addresses: list[str]  # the pool / service group / real server addresses behind it, sorted
    #: "preserved" (SNAT none / USIP / transparency) or "translated" (automap, SNIP, no transparency)
    client_address: str
    #: The existing objects by the role the project gives them (the vendor's ``adopt`` keys in its
    #: declaration model, components/<vendor>.py) -> the device's name for it.
    objects: dict[str, str] = field(default_factory=dict)
    persistence_timeout: int | None = None  # seconds, when source-address persistence is there
    load_balancing_method: str | None = None  # the declaration's spelling, when it maps
    #: SSTP TLS offload on the load balancer: the certificate's SHA-1 / SHA-256 (hex, upper case) and
    #: expiry (ISO 8601), None when 443 is passed through.
    offload_certificate_sha1: str | None = None
    offload_certificate_sha256: str | None = None
    offload_certificate_expires: str | None = None
    #: With TLS offload: whether the load balancer re-encrypts to the nodes (server-side TLS, the nodes keep
    #: HTTPS and UseHttps stays unset); None: not known (the RRAS checks then take plain HTTP to the nodes).
    offload_reencrypt: bool | None = None


@dataclass
class LoadBalancerAudit:
    services: list[FoundService]
    findings: list[Finding]


@dataclass
class FoundNode:
    """One RRAS node as found over PowerShell Remoting."""

    address: str
    computer_name: str | None
    windows_build: int | None
    #: The custom IPsec policy as Get-VpnServerConfiguration answers it, in the declaration's ``ipsec``
    #: spelling (camelCase keys, names not numbers); None when the node runs the default policy.
    ipsec: dict[str, Any] | None
    ikev2_fragmentation: bool | None
    ike_num_established_for_initial_query: int | None
    sstp_use_https: int | None  # SstpSvc\Parameters UseHttps
    sstp_certificate_sha256: str | None  # SstpSvc\Parameters SHA256CertificateHash, hex upper case
    certificate_expires: str | None  # the node's SSTP certificate (ISO 8601), when readable
    #: The node's name in the declaration, when it is declared (aovpn:clusters), else None.
    name: str | None = None
    #: The declaration's ``management`` block the node was reached with (camelCase, passwordSecret by name,
    #: never a value); None when the node was not reached.
    management: dict[str, Any] | None = None
    #: The subject of the node's SSTP certificate (Get-RemoteAccess SslCertificate), when readable.
    certificate_subject: str | None = None
    #: SstpSvc\Parameters isHashConfiguredByAdmin (1: RRAS uses SHA256CertificateHash as given).
    sstp_hash_configured_by_admin: int | None = None


@dataclass
class NodeAudit:
    node: FoundNode
    findings: list[Finding]
    #: Why the node could not be read (the provider's message: node, endpoint or command, error record);
    #: None when it was.
    error: str | None = None
