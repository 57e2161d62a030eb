"""The cluster declaration: parsed, defaulted and validated before anything is sent to an appliance.

A stack declares its clusters under the config key ``aovpn:clusters`` (a list). ``parse_clusters``
turns that list into ``Cluster`` models or raises ``DeclarationError`` whose message names the
cluster, the field, what was wrong and what is allowed, for every problem at once.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

# --- IPsec vocabulary (server-side spelling, docs/rras.md#accepted-values) -----------------------------
ENCRYPTION_METHODS = ("DES", "DES3", "AES128", "AES192", "AES256", "GCMAES128", "GCMAES256")
INTEGRITY_CHECK_METHODS = ("MD5", "SHA1", "SHA256", "SHA384")
DH_GROUPS = ("None", "Group1", "Group2", "Group14", "ECP256", "ECP384", "Group24")
CIPHER_TRANSFORMS = (
    "DES",
    "DES3",
    "AES128",
    "AES192",
    "AES256",
    "GCMAES128",
    "GCMAES192",
    "GCMAES256",
    "None",
)
AUTH_TRANSFORMS = ("MD596", "SHA196", "SHA256128", "GCMAES128", "GCMAES192", "GCMAES256", "None")
PFS_GROUPS = ("None", "PFS1", "PFS2", "PFS2048", "ECP256", "ECP384", "PFSMM", "PFS24")

# Values the project refuses unless ``allowWeakCrypto: true`` (DESIGN.md: the minimum baseline is
# AES128 / SHA256 / DH Group14 / PFS2048).
WEAK_VALUES: dict[str, frozenset[str]] = {
    "encryptionMethod": frozenset({"DES", "DES3"}),
    "integrityCheckMethod": frozenset({"MD5", "SHA1"}),
    "dhGroup": frozenset({"None", "Group1", "Group2"}),
    "cipherTransformConstants": frozenset({"DES", "DES3", "None"}),
    "authenticationTransformConstants": frozenset({"MD596", "SHA196"}),
    "pfsGroup": frozenset({"None", "PFS1", "PFS2"}),
}

# GCM for IKE main mode and IKEv2 fragmentation need Windows Server 1803 (build 17134) or later
# (docs/rras.md#windows-builds).
GCM_IKE_MIN_BUILD = 17134
FRAGMENTATION_MIN_BUILD = 17134

# MS-RRASM lifetime ranges (docs/rras.md#ranges-and-invalid-combinations).
SA_LIFETIME_RANGE = (300, 17_279_999)
SA_DATA_SIZE_MIN_KB = 1024
# netsh ras set ikev2connection takes minutes; MS-RRASM: idle timeout 300-17279999 s, network outage
# (blackout) time at least 120 s (docs/rras.md#ikev2-connection-timeouts).
IKEV2_IDLE_TIMEOUT_MINUTES = (5, 17_279_999 // 60)
IKEV2_NETWORK_OUTAGE_MINUTES = (2, 0xFFFFFFFF // 60)
#: How long a roll waits, per node, for the node's VPN sessions to end after draining it.
DRAIN_TIMEOUT_RANGE = (0, 86_400)

#: The IPsec presets (docs/rras.md#ipsec-presets): ``baseline`` is the minimum DESIGN.md names, with the
#: field's current lifetimes; ``enhanced`` is its AES-GCM / ECP256 variant (Windows Server 1803, build 17134,
#: or later).
IPSEC_PRESETS: dict[str, dict[str, str | int]] = {
    "baseline": {
        "encryption_method": "AES128",
        "integrity_check_method": "SHA256",
        "cipher_transform_constants": "AES128",
        "authentication_transform_constants": "SHA256128",
        "dh_group": "Group14",
        "pfs_group": "PFS2048",
        "sa_life_time_seconds": 28800,
        "mm_sa_life_time_seconds": 86400,
        "sa_data_size_for_renegotiation_kilobytes": 1024000,
    },
    "enhanced": {
        "encryption_method": "GCMAES128",
        "integrity_check_method": "SHA256",
        "cipher_transform_constants": "GCMAES128",
        "authentication_transform_constants": "GCMAES128",
        "dh_group": "Group14",
        "pfs_group": "ECP256",
        "sa_life_time_seconds": 28800,
        "mm_sa_life_time_seconds": 86400,
        "sa_data_size_for_renegotiation_kilobytes": 1024000,
    },
}
#: SSTP TLS hardening levels (Schannel protocols and cipher-suite order; docs/rras.md#sstp-tls-hardening).
TLS_HARDENING = ("off", "performance", "security")
#: What removing a cluster or node from the stack does to the node's settings
#: (docs/rras.md#removing-a-node-or-cluster).
ON_REMOVE = ("keep", "revert")
THUMBPRINT_RE = re.compile(r"^[0-9A-Fa-f]{40}$")
CONFIGURATION_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")

PROTOCOLS = ("ikev2", "sstp")
LB_METHODS = ("round-robin", "least-connections")
WINRM_AUTH = ("ntlm", "negotiate", "kerberos", "credssp", "basic")

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
NODE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
SECRET_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
#: A host in a URL: a DNS name (letters, digits, '-', dot-separated labels).
DNS_NAME_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
#: A path segment of a WinRM endpoint (``/wsman``, ``/rras1/wsman``): no dots, so no ``..``.
PATH_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: A Windows account for WinRM: ``DOMAIN\\user``, ``user@dns.domain`` or ``user``
#: (docs/rras.md#account-names).
_WINDOWS_ACCOUNT = r"[^\"/\\\[\]:;|=,+*?<>@\s]{1,20}(?<!\.)"
WINDOWS_USER_RE = re.compile(
    rf"^(?:(?:[A-Za-z0-9][A-Za-z0-9-]{{0,14}}|\.)\\{_WINDOWS_ACCOUNT}"
    rf"|[^\"/\\\[\]:;|=,+*?<>@\s()]{{1,64}}@[A-Za-z0-9]([A-Za-z0-9.-]{{0,251}}[A-Za-z0-9])?"
    rf"|{_WINDOWS_ACCOUNT})$"
)

# Strict scalars: a YAML ``on``/``yes`` is a boolean, not 1; ``"443"`` is a string, not a port; 60.0 is not
# a whole number of seconds. The stack file says what it means or is refused.
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]


class DeclarationError(ValueError):
    """A declaration problem, reported before any appliance is contacted."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid cluster declaration:\n  - " + "\n  - ".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )


def _choice(value: Any, allowed: Iterable[str], what: str) -> str:
    """Case-insensitive match against the allowed spellings, returning the canonical one."""
    allowed = tuple(allowed)
    if isinstance(value, str):
        for option in allowed:
            if option.lower() == value.lower():
                return option
    raise ValueError(f"{value!r} is not a valid {what}; allowed: {', '.join(allowed)}")


def _no_controls(value: str) -> None:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters (tabs, newlines...)")


def _url_parts(value: str, schemes: tuple[str, ...], what: str) -> Any:
    """``value`` split, refused unless it is ``scheme://host[:port]`` plus what the caller allows of a path.

    The value is not echoed: a URL with credentials or a query may carry a secret."""
    _no_controls(value)
    if any(c.isspace() for c in value):
        raise ValueError(f"{what} must not contain spaces")
    parts = urlsplit(value)
    if parts.scheme.lower() not in schemes:
        raise ValueError(f"{what} must start with {' or '.join(s + '://' for s in schemes)}")
    if "@" in parts.netloc:
        raise ValueError(f"{what} must not carry credentials; use user and passwordSecret")
    if "?" in value or "#" in value or ";" in parts.path:
        raise ValueError(f"{what} must not carry a query, fragment or parameters")
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"{what} has no host")
    if parts.netloc.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{what} has a host that is not an IPv6 address in [brackets]") from None
    elif not DNS_NAME_RE.match(host):
        raise ValueError(f"{what} has a host that is neither a DNS name nor an IP address")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{what} has a port outside 1-65535") from None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{what} has a port outside 1-65535")
    if parts.netloc.endswith(":"):
        raise ValueError(f"{what} has an empty port")
    return parts


def device_key(url: str) -> tuple[str, int]:
    """Which appliance a load-balancer URL reaches: (host, port), the default port spelled out."""
    parts = urlsplit(url)
    return ((parts.hostname or "").lower(), parts.port or 443)


class IpsecPolicy(_Model):
    """The IKEv2 custom IPsec policy (Set-VpnServerConfiguration -CustomPolicy): a ``preset`` whose values
    any field declared explicitly overrides."""

    preset: str = "baseline"
    encryption_method: str = "AES128"
    integrity_check_method: str = "SHA256"
    cipher_transform_constants: str = "AES128"
    authentication_transform_constants: str = "SHA256128"
    dh_group: str = Field(default="Group14", alias="dhGroup")
    pfs_group: str = "PFS2048"
    sa_life_time_seconds: Int = Field(default=28800, alias="saLifeTimeSeconds")
    mm_sa_life_time_seconds: Int = Field(default=86400, alias="mmSaLifeTimeSeconds")
    sa_data_size_for_renegotiation_kilobytes: Int = Field(
        default=1024000, alias="saDataSizeForRenegotiationKilobytes"
    )

    @model_validator(mode="before")
    @classmethod
    def _preset_values(cls, data: Any) -> Any:
        """The preset's values for every field the declaration leaves out."""
        if not isinstance(data, Mapping):
            return data
        preset = data.get("preset", "baseline")
        try:
            name = _choice(preset, IPSEC_PRESETS, "IPsec preset")
        except ValueError:
            return data  # the field validator reports it
        filled = dict(data)
        for field, value in IPSEC_PRESETS[name].items():
            info = cls.model_fields[field]
            alias = info.alias or field
            if alias not in filled and field not in filled:
                filled[alias] = value
        return filled

    @field_validator("preset", mode="before")
    @classmethod
    def _preset(cls, v: Any) -> str:
        return _choice(v, IPSEC_PRESETS, "IPsec preset")

    @field_validator("encryption_method", mode="before")
    @classmethod
    def _enc(cls, v: Any) -> str:
        return _choice(v, ENCRYPTION_METHODS, "encryption method")

    @field_validator("integrity_check_method", mode="before")
    @classmethod
    def _integ(cls, v: Any) -> str:
        return _choice(v, INTEGRITY_CHECK_METHODS, "integrity check method")

    @field_validator("cipher_transform_constants", mode="before")
    @classmethod
    def _cipher(cls, v: Any) -> str:
        return _choice(v, CIPHER_TRANSFORMS, "cipher transform")

    @field_validator("authentication_transform_constants", mode="before")
    @classmethod
    def _auth(cls, v: Any) -> str:
        return _choice(v, AUTH_TRANSFORMS, "authentication transform")

    @field_validator("dh_group", mode="before")
    @classmethod
    def _dh(cls, v: Any) -> str:
        return _choice(v, DH_GROUPS, "DH group")

    @field_validator("pfs_group", mode="before")
    @classmethod
    def _pfs(cls, v: Any) -> str:
        return _choice(v, PFS_GROUPS, "PFS group")

    @field_validator("sa_life_time_seconds", "mm_sa_life_time_seconds")
    @classmethod
    def _lifetime(cls, v: int) -> int:
        low, high = SA_LIFETIME_RANGE
        if not low <= v <= high:
            raise ValueError(f"{v} is outside the range RRAS accepts ({low}-{high} seconds)")
        return v

    @field_validator("sa_data_size_for_renegotiation_kilobytes")
    @classmethod
    def _datasize(cls, v: int) -> int:
        if v < SA_DATA_SIZE_MIN_KB:
            raise ValueError(f"{v} is below the minimum RRAS accepts ({SA_DATA_SIZE_MIN_KB} KB)")
        return v

    def as_cmdlet_parameters(self) -> dict[str, Any]:
        """The Set-VpnServerConfiguration -CustomPolicy parameters, by their cmdlet names."""
        return {
            "EncryptionMethod": self.encryption_method,
            "IntegrityCheckMethod": self.integrity_check_method,
            "CipherTransformConstants": self.cipher_transform_constants,
            "AuthenticationTransformConstants": self.authentication_transform_constants,
            "DHGroup": self.dh_group,
            "PfsGroup": self.pfs_group,
            "SALifeTimeSeconds": self.sa_life_time_seconds,
            "MMSALifeTimeSeconds": self.mm_sa_life_time_seconds,
            "SADataSizeForRenegotiationKilobytes": self.sa_data_size_for_renegotiation_kilobytes,
        }

    def needs_build(self) -> int | None:
        """The lowest Windows build that can apply the policy (AES-GCM for IKE main mode: 1803), or None."""
        return GCM_IKE_MIN_BUILD if self.encryption_method.startswith("GCM") else None


class _Reached(_Model):
    """How the project logs in to a device (a load balancer, an RRAS node over WinRM): the user, in the
    device's syntax (``user_pattern``), the NAME of the secret config key of its password, and the CA bundle
    its TLS certificate is verified against."""

    #: The device's user-name syntax, and the rule in words (for the message).
    user_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")
    user_rule: ClassVar[str] = "a user name: letters, digits, '_', '.', '@' and '-', at most 64"

    user: Str
    password_secret: Str
    ca_bundle: Str | None = None

    @field_validator("user")
    @classmethod
    def _user(cls, v: str) -> str:
        if not v:
            raise ValueError("must not be empty")
        if not cls.user_pattern.match(v):
            raise ValueError(f"is not {cls.user_rule}")
        return v

    @field_validator("password_secret")
    @classmethod
    def _secret(cls, v: str) -> str:
        return _secret_key(v)

    @field_validator("ca_bundle")
    @classmethod
    def _ca(cls, v: str | None) -> str | None:
        return _ca_path(v)


class Management(_Reached):
    """How the project reaches an RRAS node over WinRM (used by the RRAS adapter)."""

    user_pattern = WINDOWS_USER_RE
    user_rule = (
        "a Windows account name: DOMAIN\\user, user@dns.domain or user, without spaces or any of "
        '" / \\ [ ] : ; | = , + * ? < > (docs/rras.md#account-names)'
    )

    endpoint: Str
    auth: str = "ntlm"
    #: The node's DNS name for Kerberos (its service principal, HTTP/<name>) when ``endpoint`` names it by IP.
    kerberos_hostname: Str | None = None
    #: The PowerShell session configuration to connect to: the project's JEA endpoint (jea/) once an
    #: administrator registered it; None: the default (Microsoft.PowerShell, an administrator's session).
    configuration_name: Str | None = None

    @field_validator("configuration_name")
    @classmethod
    def _configuration_name(cls, v: str | None) -> str | None:
        if v is not None and not CONFIGURATION_NAME_RE.match(v):
            raise ValueError(
                "is not a session configuration name (letters, digits, '.', '_' and '-', at most 64, "
                "starting with a letter), as Register-PSSessionConfiguration -Name takes it"
            )
        return v

    @field_validator("kerberos_hostname")
    @classmethod
    def _kerberos_hostname(cls, v: str | None) -> str | None:
        if v is not None and not DNS_NAME_RE.match(v):
            raise ValueError("is not a DNS host name (letters, digits and '-', dot-separated labels)")
        return v

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        # The RRAS adapter (providers/rras/session.py) takes the host, the port and the path (default
        # /wsman) and nothing else: no query, no fragment.
        parts = _url_parts(v, ("https", "http"), "the endpoint")
        segments = parts.path.strip("/").split("/") if parts.path.strip("/") else []
        if not all(PATH_SEGMENT_RE.match(s) for s in segments):
            raise ValueError(
                "must be http(s)://host[:port] with an optional path of plain segments such as /wsman "
                "(letters, digits, '-', '_'; no '.', '..' or escapes)"
            )
        return v.rstrip("/")

    @field_validator("auth", mode="before")
    @classmethod
    def _auth(cls, v: Any) -> str:
        return _choice(v, WINRM_AUTH, "WinRM authentication")

    @model_validator(mode="after")
    def _transport(self) -> Management:
        # docs/rras.md#transport-and-message-encryption: over HTTP the message must be encrypted, which Basic
        # cannot do.
        if self.endpoint.lower().startswith("http://") and self.auth == "basic":
            raise ValueError(
                "Basic authentication is only allowed over HTTPS; use an https:// endpoint or "
                "ntlm, negotiate, kerberos or credssp (which encrypt the messages over HTTP)"
            )
        if self.kerberos_hostname is not None and self.auth not in ("kerberos", "negotiate"):
            raise ValueError(
                f"kerberosHostname is only used with auth kerberos or negotiate, not {self.auth}"
            )
        return self


class Node(_Model):
    name: Str
    address: Str
    management: Management | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NODE_NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a valid node name (letters, digits and '-', at most 63)")
        return v

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        return _ip(v)


class LoadBalancer(_Reached):
    """The fields every load balancer declares. Each vendor declares its own subclass (its
    ``LoadBalancerVendor.declaration``), with the user-name syntax of its appliance and any fields of its
    own; ``loadBalancer`` is validated with the model of the vendor its ``kind`` names."""

    user_rule = "a user name this appliance accepts: letters, digits, '_', '.', '@' and '-', at most 64"

    kind: str
    url: Str

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, v: Any) -> str:
        # The vendors are the registry's (components/registry.py), which builds on this module.
        from components.registry import kinds

        return _choice(v, kinds(), "load balancer kind")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        # Management traffic is never sent in clear, and the providers append their API paths to the URL:
        # anything after the port would change what they reach.
        if not v.lower().startswith("https://"):
            raise ValueError("must be an https:// URL (management traffic is never sent in clear)")
        parts = _url_parts(v, ("https",), "the url")
        if parts.path not in ("", "/"):
            raise ValueError("must be https://host[:port] and nothing more (no path)")
        return v.rstrip("/")


def _secret_key(v: str) -> str:
    """A config key name; the value is never echoed (it may be the secret itself, put in the wrong place)."""
    if not SECRET_KEY_RE.match(v):
        raise ValueError(
            "is not a config key name (a letter, then letters, digits, _ . -, at most 64): it names the "
            "secret config key, never holds the secret; the value is not shown"
        )
    return v


def _ca_path(v: str | None) -> str | None:
    if v is not None:
        _no_controls(v)
        if not v:
            raise ValueError("must name a PEM file of CA certificates (or be left out for the system store)")
    return v


class TlsOffload(_Model):
    """SSTP TLS terminated on the load balancer with the public certificate (DESIGN.md, SSTP)."""

    certificate_secret: Str
    private_key_secret: Str
    #: Re-encrypt to the nodes (server-ssl) instead of plain HTTP on port 80. Only valid when the nodes
    #: carry the same certificate (the RRAS adapter checks their SHA-256 hash against it).
    reencrypt: Bool = False

    @field_validator("certificate_secret", "private_key_secret")
    @classmethod
    def _secret(cls, v: str) -> str:
        return _secret_key(v)


class Sstp(_Model):
    port: Int = 443
    #: Schannel hardening of the nodes' TLS for SSTP (off: left as Windows has it).
    tls_hardening: str = "off"
    #: The public name clients connect to (Host header of the health check); defaults to the VIP.
    host_name: Str | None = None
    tls_offload: TlsOffload | None = None

    @field_validator("port")
    @classmethod
    def _port(cls, v: int) -> int:
        return _port(v)

    @field_validator("tls_hardening", mode="before")
    @classmethod
    def _tls_hardening(cls, v: Any) -> str:
        return _choice(v, TLS_HARDENING, "TLS hardening level")

    @field_validator("host_name")
    @classmethod
    def _host(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$", v):
            raise ValueError(f"{v!r} is not a DNS host name")
        return v


class Ikev2(_Model):
    """IKEv2 settings of the nodes beyond the IPsec policy (the field's scripts: Enable-IKEv2CrlCheck,
    Set-IKEv2VpnRootCertificate, Set-IKEv2VPNLoadBalancingParameters)."""

    #: Check client certificates against their CRL (RemoteAccess\Parameters\Ikev2 CertAuthFlags 4).
    crl_check: Bool = False
    #: The thumbprint (SHA-1, 40 hex digits) of the only root CA whose client certificates are accepted
    #: (Set-VpnAuthProtocol -RootCertificateNameToAccept); None: any trusted root.
    root_certificate_thumbprint: Str | None = None
    #: netsh ras set ikev2connection idletimeout (minutes); None: left as the node has it.
    idle_timeout_minutes: Int | None = None
    #: netsh ras set ikev2connection nwoutagetime (minutes); None: left as the node has it.
    network_outage_minutes: Int | None = None

    @field_validator("root_certificate_thumbprint")
    @classmethod
    def _thumbprint(cls, v: str | None) -> str | None:
        if v is not None:
            v = v.replace(" ", "")
            if not THUMBPRINT_RE.match(v):
                raise ValueError("is not a certificate thumbprint (40 hexadecimal digits, the SHA-1 hash)")
            return v.upper()
        return v

    @field_validator("idle_timeout_minutes")
    @classmethod
    def _idle(cls, v: int | None) -> int | None:
        low, high = IKEV2_IDLE_TIMEOUT_MINUTES
        if v is not None and not low <= v <= high:
            raise ValueError(f"{v} is outside the range RRAS accepts ({low}-{high} minutes)")
        return v

    @field_validator("network_outage_minutes")
    @classmethod
    def _outage(cls, v: int | None) -> int | None:
        low, high = IKEV2_NETWORK_OUTAGE_MINUTES
        if v is not None and not low <= v <= high:
            raise ValueError(f"{v} is outside the range RRAS accepts ({low}-{high} minutes)")
        return v


class NodeOperations(_Model):
    """How the project runs the RRAS nodes: the drain before a restart, and what removal leaves behind."""

    #: After draining a node on the load balancer, wait at most this long for its VPN sessions to end before
    #: restarting it (0: restart at once); the run reports how many sessions were still up.
    drain_timeout_seconds: Int = 300
    #: keep: removing the cluster or a node leaves the node's settings as they are (the run says so);
    #: revert: puts the node back to Windows' defaults and restarts it, drained.
    on_remove: str = "keep"

    @field_validator("drain_timeout_seconds")
    @classmethod
    def _drain(cls, v: int) -> int:
        low, high = DRAIN_TIMEOUT_RANGE
        if not low <= v <= high:
            raise ValueError(f"{v} is outside {low}-{high} seconds")
        return v

    @field_validator("on_remove", mode="before")
    @classmethod
    def _on_remove(cls, v: Any) -> str:
        return _choice(v, ON_REMOVE, "onRemove behaviour")


class Cluster(_Model):
    name: Str
    protocols: tuple[str, ...] = ("ikev2",)
    virtual_address: Str
    nodes: tuple[Node, ...]
    load_balancer: LoadBalancer
    ipsec: IpsecPolicy = IpsecPolicy()
    allow_weak_crypto: Bool = False
    client_address: Literal["preserved", "translated"] = "preserved"
    persistence_timeout: Int = 3600
    load_balancing_method: str = "least-connections"
    ikev2_fragmentation: Bool = Field(default=True, alias="ikev2Fragmentation")
    #: IKEEXT IkeNumEstablishedForInitialQuery, set when the client address is translated (the SA limit
    #: workaround; about twice the concurrent connections expected from one source address).
    ike_num_established_for_initial_query: Int = Field(
        default=50000, alias="ikeNumEstablishedForInitialQuery"
    )
    ikev2: Ikev2 = Ikev2()
    sstp: Sstp = Sstp()
    rras: NodeOperations = NodeOperations()

    @field_validator("load_balancer", mode="wrap")
    @classmethod
    def _load_balancer(cls, v: Any, handler: ValidatorFunctionWrapHandler) -> LoadBalancer:
        """Validated with the declaration model of the vendor ``kind`` names (its own fields, its own rules);
        an unknown kind with the common model, which reports it."""
        from components.registry import kinds, vendor

        if isinstance(v, Mapping):
            try:
                kind = _choice(v.get("kind"), kinds(), "load balancer kind")
            except ValueError:
                pass
            else:
                model = vendor(kind).declaration
                return model.model_validate(dict(v))
        validated: LoadBalancer = handler(v)
        return validated

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(
                f"{v!r} is not a valid cluster name (lower-case letters, digits and '-', "
                "starting with a letter, 2 to 32 characters): appliance object names derive from it"
            )
        return v

    @field_validator("protocols", mode="before")
    @classmethod
    def _protocols(cls, v: Any) -> tuple[str, ...]:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list | tuple) or not v:
            raise ValueError(f"must be a non-empty list; allowed: {', '.join(PROTOCOLS)}")
        out = [_choice(p, PROTOCOLS, "protocol") for p in v]
        if len(set(out)) != len(out):
            raise ValueError(f"lists a protocol twice: {out}")
        return tuple(out)

    @field_validator("virtual_address")
    @classmethod
    def _vip(cls, v: str) -> str:
        return _ip(v)

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, v: tuple[Node, ...]) -> tuple[Node, ...]:
        if not v:
            raise ValueError("must list at least one RRAS node")
        return v

    @field_validator("persistence_timeout")
    @classmethod
    def _timeout(cls, v: int) -> int:
        if not 1 <= v <= 86400:
            raise ValueError(f"{v} is outside 1-86400 seconds")
        return v

    @field_validator("load_balancing_method", mode="before")
    @classmethod
    def _method(cls, v: Any) -> str:
        return _choice(v, LB_METHODS, "load-balancing method")

    def checkup(self) -> list[str]:
        """Rules across fields; each problem as 'field: message'."""
        problems: list[str] = []
        names = [n.name.lower() for n in self.nodes]
        addresses = [ipaddress.ip_address(n.address) for n in self.nodes]
        for i, node in enumerate(self.nodes):
            if names.index(node.name.lower()) != i:
                problems.append(f"nodes[{i}].name: {node.name!r} is declared twice")
            if addresses.index(ipaddress.ip_address(node.address)) != i:
                problems.append(f"nodes[{i}].address: {node.address} is declared twice")
            if ipaddress.ip_address(node.address) == ipaddress.ip_address(self.virtual_address):
                problems.append(
                    f"nodes[{i}].address: {node.address} is the cluster's virtual address; "
                    "a node needs an address of its own"
                )
        vip_version = ipaddress.ip_address(self.virtual_address).version
        for i, node in enumerate(self.nodes):
            if ipaddress.ip_address(node.address).version != vip_version:
                problems.append(
                    f"nodes[{i}].address: {node.address} is IPv{6 if vip_version == 4 else 4} but the "
                    f"virtual address is IPv{vip_version}; use one address family"
                )
        problems.extend(_ipsec_problems(self.ipsec, self.allow_weak_crypto))
        managed = [n.management is not None for n in self.nodes]
        if any(managed) and not all(managed):
            missing = ", ".join(n.name for n in self.nodes if n.management is None)
            problems.append(
                f"nodes: management is declared for some nodes but not for {missing}; declare it for every "
                "node (the RRAS adapter configures all of them) or for none (load balancer only)"
            )
        if not 1 <= self.ike_num_established_for_initial_query <= 4_294_967_295:
            problems.append("ikeNumEstablishedForInitialQuery: must be a DWORD between 1 and 4294967295")
        if self.sstp.tls_offload is not None and "sstp" not in self.protocols:
            problems.append("sstp.tlsOffload: declared, but protocols does not list sstp")
        if self.sstp.tls_hardening != "off" and "sstp" not in self.protocols:
            problems.append("sstp.tlsHardening: declared, but protocols does not list sstp")
        if "ikev2" not in self.protocols:
            for field in sorted(self.ikev2.model_fields_set):
                alias = Ikev2.model_fields[field].alias or field
                problems.append(f"ikev2.{alias}: declared, but protocols does not list ikev2")
        return problems


def _ipsec_problems(policy: IpsecPolicy, allow_weak: bool) -> list[str]:
    problems: list[str] = []
    values = {
        "encryptionMethod": policy.encryption_method,
        "integrityCheckMethod": policy.integrity_check_method,
        "dhGroup": policy.dh_group,
        "cipherTransformConstants": policy.cipher_transform_constants,
        "authenticationTransformConstants": policy.authentication_transform_constants,
        "pfsGroup": policy.pfs_group,
    }
    if not allow_weak:
        for field, value in values.items():
            if value in WEAK_VALUES[field]:
                strong = [
                    v
                    for v in _allowed_for(field)
                    if v not in WEAK_VALUES[field] and not (field == "pfsGroup" and v == "PFSMM")
                ]
                problems.append(
                    f"ipsec.{field}: {value} is weak crypto; use one of {', '.join(strong)} "
                    "(or set allowWeakCrypto: true to accept the risk)"
                )
    cipher, auth = policy.cipher_transform_constants, policy.authentication_transform_constants
    if cipher.startswith("GCM") or auth.startswith("GCM"):
        # AES-GCM provides both ESP encryption and integrity: the two must name the same GCM variant
        # (docs/rras.md#ranges-and-invalid-combinations; whether the cmdlet itself refuses a mismatch is
        # unverified).
        if cipher != auth:
            problems.append(
                "ipsec.cipherTransformConstants/authenticationTransformConstants: AES-GCM must be used "
                f"for both ESP encryption and integrity with the same key size, got {cipher} / {auth}"
            )
    for field, value in values.items():
        if value == "None":
            # The VPNv2 CSP (ProfileXML CryptographySuite) has no None: clients could never match.
            problems.append(
                f"ipsec.{field}: None cannot be expressed in the Always On VPN client profile, so "
                f"clients could not match the servers' policy; use one of "
                f"{', '.join(v for v in _allowed_for(field) if v != 'None')}"
            )
    return problems


def _allowed_for(field: str) -> tuple[str, ...]:
    return {
        "encryptionMethod": ENCRYPTION_METHODS,
        "integrityCheckMethod": INTEGRITY_CHECK_METHODS,
        "dhGroup": DH_GROUPS,
        "cipherTransformConstants": CIPHER_TRANSFORMS,
        "authenticationTransformConstants": AUTH_TRANSFORMS,
        "pfsGroup": PFS_GROUPS,
    }[field]


#: Ranges that are never a VIP or an RRAS node's address (besides loopback, link-local, multicast,
#: unspecified and reserved, which ``ipaddress`` knows): IPv4 "this network" and the limited broadcast.
_NOT_HOST_NETWORKS = (ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("255.255.255.255/32"))


def _ip(value: str) -> str:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None
    kind = next(
        (
            label
            for label, hit in (
                ("the unspecified address", addr.is_unspecified),
                ("a loopback address", addr.is_loopback),
                ("a link-local address", addr.is_link_local),
                ("a multicast address", addr.is_multicast),
                (
                    "a broadcast or 'this network' address",
                    any(addr in n for n in _NOT_HOST_NETWORKS if n.version == addr.version),
                ),
                ("a reserved address", addr.is_reserved),
            )
            if hit
        ),
        None,
    )
    if kind is not None:
        raise ValueError(f"{addr} is {kind}, not a usable unicast address of a host")
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        raise ValueError(f"{addr} is an IPv4-mapped IPv6 address; write the IPv4 address {addr.ipv4_mapped}")
    return str(addr)


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"port {value} is outside 1-65535")
    return value


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _cluster_label(raw: Any, index: int) -> str:
    if isinstance(raw, Mapping) and isinstance(raw.get("name"), str) and raw.get("name"):
        return f"cluster {raw['name']!r}"
    return f"cluster #{index + 1} (no valid name)"


def _what(value: Any) -> str:
    """The type of a value in the stack file's words (the value itself is not echoed)."""
    if isinstance(value, bool):
        return "a boolean (YAML reads true/false, yes/no and on/off as booleans)"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return "null" if value is None else type(value).__name__


#: Pydantic's type errors, as the stack file's author reads them.
_TYPE_MESSAGES = {
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "model_type": "must be a mapping of fields",
    "dict_type": "must be a mapping of fields",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "literal_error": None,
}


def _message(err: Any, item: Mapping[str, Any]) -> str:
    kind, msg = err["type"], str(err["msg"])
    if kind == "extra_forbidden":
        return _unknown_field(tuple(err["loc"]), item)
    if kind == "missing":
        return "is required"
    if _TYPE_MESSAGES.get(kind):
        return f"{_TYPE_MESSAGES[kind]}, got {_what(err.get('input'))}"
    return msg.removeprefix("Value error, ")


def _unknown_field(loc: tuple[Any, ...], item: Mapping[str, Any]) -> str:
    """An unknown field; under ``loadBalancer``, the vendors whose declaration has it, if any."""
    generic = "is not a known field (check the spelling; every field is in docs/declaration.md)"
    if len(loc) != 2 or loc[0] != "loadBalancer":
        return generic
    from components.registry import kinds, vendor

    field = str(loc[1])
    owners = [k for k in kinds() if field in _aliases(vendor(k).declaration)]
    if not owners:
        return generic
    lb = item.get("loadBalancer")
    kind = lb.get("kind") if isinstance(lb, Mapping) else None
    return (
        f"is not a field of a {kind} load balancer; it is a field of: {', '.join(owners)} (nothing ignored)"
    )


def _aliases(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def validate_clusters(raw: Any) -> tuple[list[Cluster], list[str]]:
    """The clusters of ``aovpn:clusters`` that are valid, and every problem found, each as
    ``cluster 'x': field: message``; rules across clusters (names, addresses per appliance) included."""
    if not isinstance(raw, list):
        return [], ["aovpn:clusters: must be a list of cluster declarations"]
    problems: list[str] = []
    clusters: list[Cluster] = []
    for index, item in enumerate(raw):
        label = _cluster_label(item, index)
        if not isinstance(item, Mapping):
            problems.append(f"{label}: must be a mapping of fields, got {_what(item)}")
            continue
        try:
            cluster = Cluster.model_validate(dict(item))
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(f"{label}: {_loc(tuple(err['loc']))}: {_message(err, item)}")
            continue
        found = cluster.checkup()
        problems.extend(f"{label}: {p}" for p in found)
        clusters.append(cluster)
    problems.extend(_across(clusters))
    return [c for c in clusters if not _named(problems, c.name)], problems


def _named(problems: list[str], name: str) -> bool:
    return any(p.startswith(f"cluster {name!r}:") for p in problems)


def _across(clusters: list[Cluster]) -> list[str]:
    """Rules across clusters: unique names; on one appliance (the same load-balancer host and port), no
    two clusters share a virtual address, and no address is a node of two clusters or one's VIP and
    another's node. Both clusters are named."""
    problems: list[str] = []
    first: dict[str, Cluster] = {}
    for c in clusters:
        if c.name in first:
            problems.append(
                f"cluster {c.name!r}: name: declared more than once; cluster names must be unique"
            )
        first.setdefault(c.name, c)
    #: per appliance and address: (cluster, what the address is there)
    seen: dict[
        tuple[tuple[str, int], ipaddress.IPv4Address | ipaddress.IPv6Address], tuple[int, str, str]
    ] = {}
    for index, c in enumerate(clusters):
        device = device_key(c.load_balancer.url)
        where = f"{device[0]}:{device[1]}"
        uses = [("virtualAddress", c.virtual_address, "the virtual address")]
        uses += [(f"nodes[{i}].address", n.address, f"node {n.name}") for i, n in enumerate(c.nodes)]
        for field, address, role in uses:
            key = (device, ipaddress.ip_address(address))
            if key in seen and seen[key][0] != index:
                _, other, other_role = seen[key]
                problems.append(
                    f"cluster {c.name!r}: {field}: {address} is already {other_role} of cluster {other!r} on "
                    f"the same load balancer ({where}); each cluster needs addresses of its own there"
                )
            else:
                seen.setdefault(key, (index, c.name, role))
    return problems


def parse_clusters(raw: Any) -> list[Cluster]:
    """Parse ``aovpn:clusters``; every problem of every cluster is reported in one DeclarationError."""
    clusters, problems = validate_clusters(raw)
    if problems:
        raise DeclarationError(problems)
    return clusters
