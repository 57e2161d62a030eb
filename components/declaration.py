"""The cluster declaration: parsed, defaulted and validated before anything is sent to an appliance.

A stack declares its clusters under the config key ``aovpn:clusters`` (a list). ``parse_clusters``
turns that list into ``Cluster`` models or raises ``DeclarationError`` whose message names the
cluster, the field, what was wrong and what is allowed, for every problem at once.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
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

# MS-RRASM lifetime ranges (docs/rras.md#ranges-and-invalid-combinations).
SA_LIFETIME_RANGE = (300, 17_279_999)
SA_DATA_SIZE_MIN_KB = 1024

PROTOCOLS = ("ikev2", "sstp")
LB_METHODS = ("round-robin", "least-connections")
WINRM_AUTH = ("ntlm", "kerberos", "credssp", "basic")

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
NODE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
SECRET_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")


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


def _check_https_url(value: str, field: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL with a host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{value!r} has a port outside 1-65535") from exc
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{value!r} has a port outside 1-65535")
    if parts.username or parts.password:
        raise ValueError(f"{field} must not carry credentials; use user and passwordSecret")
    return value.rstrip("/")


class IpsecPolicy(_Model):
    """The IKEv2 custom IPsec policy (Set-VpnServerConfiguration -CustomPolicy)."""

    encryption_method: str = "AES128"
    integrity_check_method: str = "SHA256"
    cipher_transform_constants: str = "AES128"
    authentication_transform_constants: str = "SHA256128"
    dh_group: str = Field(default="Group14", alias="dhGroup")
    pfs_group: str = "PFS2048"
    sa_life_time_seconds: int = Field(default=28800, alias="saLifeTimeSeconds")
    sa_data_size_for_renegotiation_kilobytes: int = Field(
        default=102400, alias="saDataSizeForRenegotiationKilobytes"
    )

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

    @field_validator("sa_life_time_seconds")
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
            "SADataSizeForRenegotiationKilobytes": self.sa_data_size_for_renegotiation_kilobytes,
        }


class Management(_Model):
    """How the project reaches an RRAS node over WinRM (used by the RRAS adapter)."""

    endpoint: str
    user: str
    password_secret: str
    auth: str = "ntlm"
    ca_bundle: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        return _check_https_url(v, "endpoint")

    @field_validator("auth", mode="before")
    @classmethod
    def _auth(cls, v: Any) -> str:
        return _choice(v, WINRM_AUTH, "WinRM authentication")

    @field_validator("password_secret")
    @classmethod
    def _secret(cls, v: str) -> str:
        if not SECRET_KEY_RE.match(v):
            raise ValueError(f"{v!r} is not a config key name (letters, digits, _ . -)")
        return v

    @model_validator(mode="after")
    def _transport(self) -> Management:
        # docs/rras.md#transport-and-message-encryption: over HTTP the message must be encrypted, which Basic
        # cannot do.
        if self.endpoint.lower().startswith("http://") and self.auth == "basic":
            raise ValueError(
                "Basic authentication is only allowed over HTTPS; use an https:// endpoint or "
                "ntlm, kerberos or credssp (which encrypt the messages over HTTP)"
            )
        return self


class Node(_Model):
    name: str
    address: str
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


class LoadBalancer(_Model):
    kind: str
    url: str
    user: str
    password_secret: str
    ca_bundle: str | None = None
    partition: str = "Common"
    device_group: str | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, v: Any) -> str:
        # The vendors are the registry's (components/registry.py), which builds on this module.
        from components.registry import kinds

        return _choice(v, kinds(), "load balancer kind")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.lower().startswith("https://"):
            raise ValueError(f"{v!r} must be an https:// URL (management traffic is never sent in clear)")
        return _check_https_url(v, "url")

    @field_validator("password_secret")
    @classmethod
    def _secret(cls, v: str) -> str:
        if not SECRET_KEY_RE.match(v):
            raise ValueError(f"{v!r} is not a config key name (letters, digits, _ . -)")
        return v

    @field_validator("partition")
    @classmethod
    def _partition(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$", v):
            raise ValueError(f"{v!r} is not a valid partition name")
        return v


class TlsOffload(_Model):
    """SSTP TLS terminated on the load balancer with the public certificate (DESIGN.md, SSTP)."""

    certificate_secret: str
    private_key_secret: str
    #: Re-encrypt to the nodes (server-ssl) instead of plain HTTP on port 80. Only valid when the nodes
    #: carry the same certificate (the RRAS adapter checks their SHA-256 hash against it).
    reencrypt: bool = False

    @field_validator("certificate_secret", "private_key_secret")
    @classmethod
    def _secret(cls, v: str) -> str:
        if not SECRET_KEY_RE.match(v):
            raise ValueError(f"{v!r} is not a config key name (letters, digits, _ . -)")
        return v


class Sstp(_Model):
    port: int = 443
    #: The public name clients connect to (Host header of the health check); defaults to the VIP.
    host_name: str | None = None
    tls_offload: TlsOffload | None = None

    @field_validator("port")
    @classmethod
    def _port(cls, v: int) -> int:
        return _port(v)

    @field_validator("host_name")
    @classmethod
    def _host(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$", v):
            raise ValueError(f"{v!r} is not a DNS host name")
        return v


class Cluster(_Model):
    name: str
    protocols: tuple[str, ...] = ("ikev2",)
    virtual_address: str
    nodes: tuple[Node, ...]
    load_balancer: LoadBalancer
    ipsec: IpsecPolicy = IpsecPolicy()
    allow_weak_crypto: bool = False
    client_address: Literal["preserved", "translated"] = "preserved"
    persistence_timeout: int = 3600
    load_balancing_method: str = "least-connections"
    ikev2_fragmentation: bool = Field(default=True, alias="ikev2Fragmentation")
    #: IKEEXT IkeNumEstablishedForInitialQuery, set when the client address is translated (the SA limit
    #: workaround; about twice the concurrent connections expected from one source address).
    ike_num_established_for_initial_query: int = Field(
        default=50000, alias="ikeNumEstablishedForInitialQuery"
    )
    sstp: Sstp = Sstp()

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


def _ip(value: str) -> str:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None
    if addr.is_unspecified or addr.is_multicast:
        raise ValueError(f"{value} is not a usable unicast address")
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


def parse_clusters(raw: Any) -> list[Cluster]:
    """Parse ``aovpn:clusters``; every problem of every cluster is reported in one DeclarationError."""
    if not isinstance(raw, list):
        raise DeclarationError(["aovpn:clusters: must be a list of cluster declarations"])
    problems: list[str] = []
    clusters: list[Cluster] = []
    for index, item in enumerate(raw):
        label = _cluster_label(item, index)
        if not isinstance(item, Mapping):
            problems.append(f"{label}: must be a mapping of fields, got {type(item).__name__}")
            continue
        try:
            cluster = Cluster.model_validate(dict(item))
        except ValidationError as exc:
            for err in exc.errors():
                field = _loc(tuple(err["loc"]))
                msg = err["msg"]
                if err["type"] == "extra_forbidden":
                    msg = "is not a known field (check the spelling; see README 'Declaration')"
                elif err["type"] == "missing":
                    msg = "is required"
                msg = msg.removeprefix("Value error, ")
                problems.append(f"{label}: {field}: {msg}")
            continue
        problems.extend(f"{label}: {p}" for p in cluster.checkup())
        clusters.append(cluster)
    names = [c.name for c in clusters]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"cluster {name!r}: name: declared more than once; cluster names must be unique")
    vips = [(c.virtual_address, c.load_balancer.url) for c in clusters]
    for vip, url in sorted({v for v in vips if vips.count(v) > 1}):
        problems.append(
            f"virtualAddress {vip} on {url}: used by more than one cluster; each cluster needs its own"
        )
    if problems:
        raise DeclarationError(problems)
    return clusters
