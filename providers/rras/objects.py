"""Providers for RRAS node settings: the IKEv2 custom IPsec policy, registry values, node restarts.

Settings carry a ``revision`` output that changes only when the provider really wrote to the node; each node's
restart resource takes its node's revisions as inputs, so services restart only when something that needs a
restart changed (docs/rras.md#when-changes-take-effect). The restarts are chained node after node: each node
is drained on the load balancer first and re-enabled after it is healthy again."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from pulumi.dynamic import (
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)

from providers.common.device import ConfiguredProvider
from providers.common.drain import set_node_enabled
from providers.common.errors import ProviderError
from providers.common.resource import ApplianceObjectProvider, plain
from providers.rras.session import NodeConnection, NodeSession, session_for

# Get-VpnServerConfiguration's read-back names differ from Set-VpnServerConfiguration's parameters
# (docs/rras.md#reading-the-policy-back).
READBACK = {
    "EncryptionMethod": "EncryptionMethod",
    "IntegrityCheckMethod": "IntegrityCheckMethod",
    "CipherTransformConstants": "CipherTransformConstants",
    "AuthenticationTransformConstants": "AuthenticationTransformConstants",
    "DHGroup": "DHGroup",
    "PfsGroup": "PfsGroup",
    "SALifeTimeSeconds": "SALifeTime",
    "SADataSizeForRenegotiationKilobytes": "SADataSizeForRenegotiation",
}
INT_PARAMETERS = {"SALifeTimeSeconds", "SADataSizeForRenegotiationKilobytes"}
HEALTHY_WAIT_S = 120.0


def prop(obj: Any, name: str) -> Any:
    """A property of a deserialized PowerShell object, adapted (CIM/.NET) or extended (PSCustomObject)."""
    for attr in ("adapted_properties", "extended_properties"):
        values = getattr(obj, attr, None) or {}
        for key, value in values.items():
            if str(key).lower() == name.lower():
                return value
    if isinstance(obj, dict):
        for key, value in obj.items():
            if str(key).lower() == name.lower():
                return value
    return None


class NodeSettingProvider(ApplianceObjectProvider):
    """Base of per-node settings: the 'device' is the node's WinRM endpoint."""

    identity_keys: ClassVar[tuple[str, ...]] = ("node",)
    revision_key = "revision"

    def client_for(self, props: dict[str, Any]) -> NodeSession:
        return session_for(NodeConnection.from_device(props["node"], props["device"]), self._secrets)

    def owner_of(self, props: dict[str, Any]) -> str:
        # Node settings have no marker of their own: the node is declared by this stack's cluster.
        return str(props["owner"])


class IpsecPolicyProvider(NodeSettingProvider):
    """The IKEv2 custom IPsec policy of one node (Set-/Get-VpnServerConfiguration)."""

    object_type = "VPN server IPsec policy"
    property_keys = ("policy",)

    def object_id(self, props: dict[str, Any]) -> str:
        return f"{props['node']}/ipsec-policy"

    def fetch(self, client: NodeSession, props: dict[str, Any]) -> dict[str, Any] | None:
        out = client.invoke("Get-VpnServerConfiguration", {"TunnelType": "IKEv2"})
        obj = out[0] if out else None
        custom = prop(obj, "CustomPolicy")
        policy: dict[str, Any] = {}
        if obj is not None and str(custom).lower() in ("true", "1"):
            for parameter, readback in READBACK.items():
                value = prop(obj, readback)
                if value is None:
                    continue
                policy[parameter] = int(str(value)) if parameter in INT_PARAMETERS else str(value)
        return {"node": props["node"], "policy": policy, "owner": self.owner_of(props)}

    def create_object(self, client: NodeSession, props: dict[str, Any]) -> None:
        self._set(client, props)

    def update_object(
        self, client: NodeSession, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        self._set(client, props)

    def _set(self, client: NodeSession, props: dict[str, Any]) -> None:
        params = {"TunnelType": "IKEv2", **props["policy"]}
        client.invoke("Set-VpnServerConfiguration", params, switches=("CustomPolicy",))

    def delete_object(self, client: NodeSession, props: dict[str, Any]) -> None:
        client.invoke("Set-VpnServerConfiguration", {"TunnelType": "IKEv2"}, switches=("RevertToDefault",))


class RegistryValueProvider(NodeSettingProvider):
    """One registry value on a node, present with a value and type, or ensured absent."""

    object_type = "registry value"
    identity_keys = ("node", "path", "name")
    property_keys = ("ensure", "value")
    carried_keys = ("kind", "keep_on_delete")

    def object_id(self, props: dict[str, Any]) -> str:
        return f"{props['node']}/{props['path']}\\{props['name']}"

    def fetch(self, client: NodeSession, props: dict[str, Any]) -> dict[str, Any] | None:
        out = client.invoke("Get-ItemProperty", {"Path": props["path"]})
        value = prop(out[0], props["name"]) if out else None
        current: dict[str, Any] = {"node": props["node"], "path": props["path"], "name": props["name"]}
        current["owner"] = self.owner_of(props)
        if value is None:
            current.update(ensure="absent", value=None)
        elif isinstance(value, bytes | bytearray):
            current.update(ensure="present", value=bytes(value).hex())
        else:
            number = int(value) if isinstance(value, int) else value
            if props.get("kind") == "DWord" and isinstance(number, int) and number < 0:
                number += 1 << 32  # a DWORD above 0x7FFFFFFF reads back as a negative Int32
            current.update(ensure="present", value=number)
        return current

    def _write(self, client: NodeSession, props: dict[str, Any]) -> None:
        if props.get("ensure", "present") == "absent":
            client.invoke("Remove-ItemProperty", {"Path": props["path"], "Name": props["name"]})
            return
        kind = props["kind"]
        value: Any = bytes.fromhex(props["value"]) if kind == "Binary" else props["value"]
        if kind == "DWord" and isinstance(value, int) and value > 0x7FFFFFFF:
            # pypsrp serialises Python ints as Int32; PowerShell stores a DWORD's bits from the signed value
            value -= 1 << 32
        client.invoke(
            "New-ItemProperty",
            {"Path": props["path"], "Name": props["name"], "Value": value, "PropertyType": kind},
            switches=("Force",),
        )

    def create_object(self, client: NodeSession, props: dict[str, Any]) -> None:
        if props.get("ensure") == "absent" and (self.fetch(client, props) or {}).get("ensure") == "absent":
            return  # Remove-ItemProperty of an absent value writes an error record
        self._write(client, props)

    def update_object(
        self, client: NodeSession, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        if props.get("ensure") == "absent" and current.get("ensure") == "absent":
            return
        self._write(client, props)

    def delete_object(self, client: NodeSession, props: dict[str, Any]) -> None:
        """Back to the Windows default: the value is removed (nothing to do if we only ensured absence, or
        if the value is handed back to Windows: ``keep_on_delete``)."""
        if props.get("ensure", "present") == "present" and not props.get("keep_on_delete"):
            current = self.fetch(client, props)
            if current and current["ensure"] == "present":
                client.invoke("Remove-ItemProperty", {"Path": props["path"], "Name": props["name"]})


class NodeRestartProvider(ConfiguredProvider):
    """Restarts the services of one node that need it, drained on the load balancer meanwhile.

    Inputs: ``node``, ``device`` (WinRM connection), ``drain`` (the load balancer's drain spec, or None),
    ``services``: for IKEEXT and RemoteAccess, the revisions of the settings that need that service
    restarted, and ``later_nodes`` (the nodes after this one in the roll, for the error message only).
    The node restarts when one of its revisions changed (on create: when any setting was actually
    written rather than found already right). Components chain one of these per node, so the engine
    runs the roll one node at a time and stops it at the first failure, with the failing node still
    drained (the error says so) and every node before it recorded as done.
    """

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = _signature(olds) != _signature(news)
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = plain(props)
        last = self._restart(props, None)
        return CreateResult(f"restart-{props['node']}", {**props, "last_restart": last})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        olds, news = plain(olds), plain(news)
        last = self._restart(news, olds)
        return UpdateResult({**news, "last_restart": last or olds.get("last_restart")})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: restarts are events, not objects."""

    @staticmethod
    def _needed(node: dict[str, Any], old: dict[str, Any] | None) -> list[str]:
        services = []
        for service in ("IKEEXT", "RemoteAccess"):
            revisions = list(node["services"].get(service) or [])
            if old is None:
                if any(r != "adopted" for r in revisions):
                    services.append(service)
            elif revisions != list((old.get("services") or {}).get(service) or []):
                services.append(service)
        if "IKEEXT" in services and "RemoteAccess" not in services:
            # RemoteAccess depends on IKEEXT (docs/rras.md#when-changes-take-effect)
            services.append("RemoteAccess")
        return services

    def _restart(self, node: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any] | None:
        services = self._needed(node, old)
        if not services:
            return None
        name = node["node"]
        drained = False
        try:
            if node.get("drain"):
                set_node_enabled(node["drain"], False, self._secrets)
                drained = True
            session = session_for(NodeConnection.from_device(name, node["device"]), self._secrets)
            for service in services:
                session.invoke("Restart-Service", {"Name": service}, switches=("Force",))
            for service in services:
                _wait_running(session, service)
            if drained:
                set_node_enabled(node["drain"], True, self._secrets)
                drained = False
        except ProviderError as exc:
            state = "it is still drained on the load balancer" if drained else "it was not drained"
            later = ", ".join(node.get("later_nodes") or []) or "none"
            raise ProviderError(
                f"rolling restart stopped at node {name} ({state}): {exc}. Nodes after it in the roll "
                f"are left as they are ({later}). Fix the node and run `up` again."
            ) from None
        return {"services": services, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _wait_running(session: NodeSession, service: str) -> None:
    deadline = time.monotonic() + HEALTHY_WAIT_S
    status = "unknown"
    while time.monotonic() < deadline:
        out = session.invoke("Get-Service", {"Name": service})
        status = str(prop(out[0], "Status")) if out else "missing"
        if status.lower() == "running":
            return
        time.sleep(1.0)
    raise ProviderError(
        f"node {session.conn.name}: service {service} is {status}, not Running, after restart"
    )


def _signature(props: dict[str, Any]) -> tuple[Any, ...]:
    """What a restart depends on; ``later_nodes`` and ``owner`` only label it."""
    return (props.get("node"), props.get("services"), props.get("drain"), props.get("device"))
