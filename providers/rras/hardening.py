"""Providers for the IKEv2 hardening of RRAS nodes that are not a registry value, and the Windows build check.

- ``AcceptedRootProvider``: the only root CA whose client certificates IKEv2 accepts, Set-VpnAuthProtocol
  ``-RootCertificateNameToAccept`` (docs/rras.md#accepted-root-certificate). The parameter takes an
  X509Certificate2 and no pipeline input, so the certificate, taken from the node's own
  ``Cert:\\LocalMachine\\Root`` by thumbprint, reaches it through a variable of a FIXED script
  (``SET_ROOT_SCRIPT``) whose ``param()`` block receives the validated thumbprint as a bound parameter: the
  declaration is never part of the text. Read back with Get-VpnAuthProtocol. Effective after a RemoteAccess
  restart. A thumbprint the node's Root store lacks is refused at preview (``check``) and before writing.
  A node declared with management.configurationName (the project's JEA endpoint, jea/) is a NoLanguage
  session, which refuses any script: there the same text is the role's function ``SET_ROOT_FUNCTION``
  (FunctionDefinitions of jea/AovpnRras/RoleCapabilities/AovpnRras.psrc), called by name with the thumbprint,
  and clearing it is ``CLEAR_ROOT_FUNCTION`` (docs/rras.md#just-enough-administration).
- ``WindowsBuildProvider``: one resource per node whose declaration needs a Windows build (AES-GCM for IKE
  main mode, IKEv2 fragmentation: 17134), refused in ``check``, which the engine calls in preview too, when
  the node's build is lower (docs/rras.md#windows-builds). The build is read once per run and node (the
  CurrentBuildNumber read SSTP's cipher-suite order shares: providers/rras/tls.py ``windows_build``, cached
  per endpoint in the provider process) and recorded in the resource's inputs, so a later run reads it
  again only when a requirement is above the recorded build.

The CRL check and the IKEv2 connection timeouts are registry values (providers/rras/objects.py,
RegistryValueProvider): docs/rras.md#ikev2-crl-checking, docs/rras.md#ikev2-connection-timeouts.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any, TypedDict

from pulumi.dynamic import CheckFailure, CheckResult, DiffResult
from pulumi.output import Unknown

from providers.common.device import ConfiguredProvider
from providers.common.diagnostics import tell, warn_once
from providers.common.errors import ProviderError
from providers.common.record import Record
from providers.common.resource import PROVIDER_KEY, plain
from providers.rras.objects import NodeSettingProvider, prop
from providers.rras.session import (
    NodeConnection,
    NodeSession,
    session_for,
)
from providers.rras.tls import windows_build

ROOT_STORE = "Cert:\\LocalMachine\\Root\\"
THUMBPRINT_RE = re.compile(r"^[0-9A-F]{40}$")
#: Sets the accepted root to the Root store's certificate ``$Thumbprint`` (a bound parameter, validated again
#: by the node). Fixed text: the twin (emulators/winrm/cmdlets/vpnauth.py) knows exactly this script.
SET_ROOT_SCRIPT = r"""param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[0-9A-F]{40}$')]
    [string] $Thumbprint
)
$certificate = Get-Item -LiteralPath ('Cert:\LocalMachine\Root\' + $Thumbprint) -ErrorAction Stop
Set-VpnAuthProtocol -RootCertificateNameToAccept $certificate -PassThru -ErrorAction Stop"""
#: The JEA role's functions (jea/AovpnRras/RoleCapabilities/AovpnRras.psrc): SET_ROOT_SCRIPT's text with a
#: validated -Thumbprint, and Set-VpnAuthProtocol -RootCertificateNameToAccept $null.
SET_ROOT_FUNCTION = "Set-AovpnAcceptedRoot"
CLEAR_ROOT_FUNCTION = "Clear-AovpnAcceptedRoot"


class BuildRequirement(TypedDict):
    """What a node's declaration needs of its Windows build: the field and value that need it, the build,
    and the feature in words."""

    field: str
    value: str
    build: int
    feature: str


_LOCK = threading.Lock()
_ROOTS: dict[tuple[str, str], bool] = {}


def root_present(session: NodeSession, thumbprint: str, *, fresh: bool = False) -> bool:
    """Whether the node's Cert:\\LocalMachine\\Root holds the certificate (cached per run, unless
    ``fresh``)."""
    key = (session.conn.endpoint, thumbprint)
    with _LOCK:
        if not fresh and key in _ROOTS:
            return _ROOTS[key]
    out = session.invoke(
        "Get-Item", {"LiteralPath": ROOT_STORE + thumbprint, "ErrorAction": "SilentlyContinue"}
    )
    present = any(thumbprint in thumbprints_of(item) for item in out)
    with _LOCK:
        _ROOTS[key] = present
    return present


def thumbprints_of(value: Any) -> list[str]:
    """The thumbprints in what PowerShell remoting returns for a certificate property: a certificate object
    (its Thumbprint), several, the certificate's DER (SHA-1 of it, the bytes possibly one per item), or the
    text of a certificate serialized beyond the depth (X509Certificate2.ToString's [Thumbprint] section)."""
    if value is None:
        return []
    if isinstance(value, bytes | bytearray):
        return [_der_thumbprint(bytes(value))] if _is_certificate(bytes(value)) else []
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return thumbprints_of(bytes(value))
        return [t for item in value for t in thumbprints_of(item)]
    thumbprint = prop(value, "Thumbprint")
    if thumbprint:
        return [str(thumbprint).strip().upper()]
    text = str(value)
    found = re.search(r"\[Thumbprint\]\s+([0-9A-Fa-f]{40})\b", text)
    if found:
        return [found.group(1).upper()]
    return [text.strip().upper()] if THUMBPRINT_RE.match(text.strip().upper()) else []


def _der_thumbprint(der: bytes) -> str:
    return hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - the certificate's thumbprint, by definition


def _is_certificate(der: bytes) -> bool:
    from cryptography import x509

    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        return False
    return True


def _absent(node: str, thumbprint: str) -> str:
    return (
        f"node {node}: no certificate with thumbprint {thumbprint} in Cert:\\LocalMachine\\Root; "
        "ikev2.rootCertificateThumbprint must name a root CA certificate the node trusts: import it into "
        "the node's Trusted Root Certification Authorities store (LocalMachine\\Root) first"
    )


def _url(props: dict[str, Any]) -> str | None:
    device = props.get("device")
    return str(device.get("url")) if isinstance(device, dict) and device.get("url") else None


class AcceptedRootProvider(NodeSettingProvider):
    """The accepted root CA of one node (Set-/Get-VpnAuthProtocol RootCertificateNameToAccept)."""

    object_type = "accepted root certificate"
    property_keys = ("thumbprint",)

    def setting(self, props: dict[str, Any]) -> str:
        return "RootCertificateNameToAccept"

    def object_id(self, props: dict[str, Any]) -> str:
        return f"{props['node']}/ikev2-root-certificate"

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Refuse at preview a thumbprint the node's Root store lacks; a thumbprint already recorded for the
        same node was verified when it was recorded."""
        result = super().check(olds, news)
        props = result.inputs
        thumbprint, old = props.get("thumbprint"), plain(olds or {})
        if not isinstance(thumbprint, str) or any(isinstance(v, Unknown) for v in props.values()):
            return result
        if old.get("thumbprint") == thumbprint and _url(old) == _url(props):
            return result
        if root_present(self.client_for(props), thumbprint):
            return result
        return CheckResult(props, [CheckFailure("", _absent(str(props["node"]), thumbprint))])

    def fetch(self, client: NodeSession, props: dict[str, Any]) -> dict[str, Any] | None:
        out = client.invoke("Get-VpnAuthProtocol")
        value = prop(out[0], "RootCertificateNameToAccept") if out else None
        found = thumbprints_of(value)
        if value is not None and not found:
            warn_once(
                f"{client.conn.name} root form",
                f"node {client.conn.name}: Get-VpnAuthProtocol answered RootCertificateNameToAccept as "
                f"{type(value).__name__}, which holds no thumbprint the provider can read",
            )
        wanted = props.get("thumbprint")
        # kept by name on the node: a renewed root of the same name is reported with it
        current = wanted if wanted in found else (",".join(found) or None)
        return {"node": props["node"], "thumbprint": current, "owner": self.owner_of(props)}

    def create_object(self, client: NodeSession, props: dict[str, Any]) -> None:
        self._set(client, props)

    def update_object(
        self, client: NodeSession, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        self._set(client, props)

    def _set(self, client: NodeSession, props: dict[str, Any]) -> None:
        thumbprint = str(props["thumbprint"])
        if not THUMBPRINT_RE.match(thumbprint):  # the declaration validated it; never send anything else
            raise ProviderError(f"node {props['node']}: {thumbprint!r} is not a certificate thumbprint")
        if not root_present(client, thumbprint, fresh=True):
            raise ProviderError(_absent(str(props["node"]), thumbprint))
        if client.conn.configuration_name:  # a JEA endpoint: its function, by name
            out = client.invoke(SET_ROOT_FUNCTION, {"Thumbprint": thumbprint})
        else:
            out = client.invoke_script(
                SET_ROOT_SCRIPT,
                {"Thumbprint": thumbprint},
                "Set-VpnAuthProtocol -RootCertificateNameToAccept "
                f"(Get-Item -LiteralPath '{ROOT_STORE}{thumbprint}')",
            )
        accepted = prop(out[0], "UserAuthProtocolAccepted") if out else None
        names = [str(p) for p in (accepted if isinstance(accepted, list) else [accepted] if accepted else [])]
        if names and "certificate" not in [n.lower() for n in names]:
            tell(
                f"node {props['node']}: the accepted root certificate applies to certificate authentication, "
                f"which UserAuthProtocolAccepted ({', '.join(names)}) does not list; enable it with "
                "Set-VpnAuthProtocol -UserAuthProtocolAccepted",
                warning=True,
            )

    def delete_object(self, client: NodeSession, props: dict[str, Any]) -> None:
        """``rras.onRemove: revert`` only (a keep sends nothing: NodeSettingProvider.delete): Windows'
        default, no accepted root configured (what Richard Hicks' -Clear does)."""
        if props.get("thumbprint") is not None and client.conn.configuration_name:
            client.invoke(CLEAR_ROOT_FUNCTION)  # a JEA endpoint: Set-VpnAuthProtocol is not visible
        elif props.get("thumbprint") is not None:
            client.invoke("Set-VpnAuthProtocol", {"RootCertificateNameToAccept": None})


class WindowsBuildProvider(Record, ConfiguredProvider):
    """Refuses, in ``check``, a declaration the node's Windows build cannot apply (see the module docstring).

    Inputs: ``node``, ``device``, ``owner``, ``cluster`` (for messages) and ``requires``: the node's
    BuildRequirements. ``check`` adds ``build``, the build it read or found recorded. Nothing on the node
    changes: create, update and delete write nothing.
    """

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        props = {k: (v if k == PROVIDER_KEY else plain(v)) for k, v in news.items()}
        props.pop("build", None)
        requires = props.get("requires")
        if not isinstance(requires, list) or any(isinstance(v, Unknown) for v in props.values()):
            return CheckResult(props, [])
        old = plain(olds or {})
        build = old.get("build") if _url(old) == _url(props) else None
        if not isinstance(build, int) or any(build < int(r["build"]) for r in requires):
            conn = NodeConnection.from_device(str(props["node"]), props["device"])
            build = windows_build(session_for(conn, self._secrets))
        props["build"] = build
        unmet = [r for r in requires if build < int(r["build"])]
        if not unmet:
            return CheckResult(props, [])
        needs = "; ".join(
            f"{r['field']} {r['value']} needs build {r['build']} or later ({r['feature']})" for r in unmet
        )
        return CheckResult(
            props,
            [
                CheckFailure(
                    "",
                    f"cluster {props.get('cluster')}, node {props['node']} runs Windows build {build}, which "
                    f"cannot apply what is declared: {needs}. Upgrade the node or change the declaration "
                    "(docs/rras.md#windows-builds).",
                )
            ],
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = plain(olds), plain(news)
        keys = ("node", "device", "cluster", "requires", "build")
        changed = any(olds.get(k) != news.get(k) for k in keys)
        return DiffResult(changes=changed, replaces=[], stables=[])

    def record_id(self, props: dict[str, Any]) -> str:
        return f"{props['node']}/windows-build"
