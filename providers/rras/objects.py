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
    ResourceProvider,
    UpdateResult,
)

from providers.common.device import ConfiguredProvider
from providers.common.diagnostics import tell, warn_once
from providers.common.drain import set_node_enabled
from providers.common.errors import ProviderError
from providers.common.record import Record
from providers.common.resource import OLD_INPUTS, ApplianceObjectProvider, engine_sees, plain
from providers.rras.removal import note_removed, on_remove
from providers.rras.session import NodeConnection, NodeSession, session_for
from providers.rras.sessions import reboot, wait_for_sessions
from providers.rras.values import declared_name, service_status

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
    "MMSALifeTimeSeconds": "MMSALifeTime",
    "SADataSizeForRenegotiationKilobytes": "SADataSizeForRenegotiation",
}
#: The policy parameters an Always On VPN client profile carries (CryptographySuite); the lifetimes are local.
CLIENT_PROFILE_PARAMETERS = frozenset(
    {
        "EncryptionMethod",
        "IntegrityCheckMethod",
        "CipherTransformConstants",
        "AuthenticationTransformConstants",
        "DHGroup",
        "PfsGroup",
    }
)
INT_PARAMETERS = {"SALifeTimeSeconds", "MMSALifeTimeSeconds", "SADataSizeForRenegotiationKilobytes"}
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

    def setting(self, props: dict[str, Any]) -> str:
        """The setting's name in a restart's reasons ("ipsec-policy", a registry value's name)."""
        return self.object_type

    def _stamp(self, outs: dict[str, Any], wrote: bool, unchanged: Any) -> None:
        # A written revision names its setting, so the restart it causes can say why (``because``).
        super()._stamp(outs, wrote, unchanged)
        if wrote and self.revision_key:
            outs[self.revision_key] = f"{self.setting(outs)} {outs[self.revision_key]}"

    # -- removal (docs/rras.md#removing-a-node-or-cluster) ----------------------------------------------
    # ``on_remove`` (keep|revert) rides in the outputs, which is all a delete receives: a change of it alone
    # is an update that writes nothing (apply finds the node as it should be), so the outputs follow it.
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = super().diff(_id, olds, news)
        if result.changes is False and on_remove(olds) != on_remove(news):
            seen = engine_sees(OLD_INPUTS.recall(news), plain(olds), ["on_remove"])
            return DiffResult(changes=None if seen else True, replaces=[], stables=[])
        return result

    def _outs(self, props: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        outs = super()._outs(props, current)
        if "on_remove" in props:
            outs["on_remove"] = props["on_remove"]
        return outs

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """keep: nothing is sent to the node; revert: ``delete_object`` puts Windows' default back (it takes
        effect at the node's next restart: the node's removal resource restarts it, drained). Either way
        the node's removal resource (providers/rras/removal.py) is told, for its summary."""
        props = plain(props)
        kept = on_remove(props) == "keep"
        if not kept:
            super().delete(_id, props)
        note_removed(props, self.setting(props), kept)


class IpsecPolicyProvider(NodeSettingProvider):
    """The IKEv2 custom IPsec policy of one node (Set-/Get-VpnServerConfiguration)."""

    object_type = "VPN server IPsec policy"
    property_keys = ("policy",)

    def setting(self, props: dict[str, Any]) -> str:
        return "ipsec-policy"

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
                # the crypto values arrive as uint32, enum objects or names (docs/rras.md#value-maps)
                policy[parameter] = (
                    int(str(value)) if parameter in INT_PARAMETERS else declared_name(parameter, value)
                )
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

    def setting(self, props: dict[str, Any]) -> str:
        return str(props.get("name") or self.object_type)

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
    restarted, and for ``Computer`` those that need a reboot, ``drain_timeout_seconds`` (how long a drained
    node's VPN sessions may take to end), and ``later_nodes`` (the nodes after this one in the roll, for the
    error message only). The node restarts when one of its revisions changed (on create: when any setting
    was actually written rather than found already right); a moved ``Computer`` revision reboots it
    instead (providers/rras/sessions.py). Between the drain and the restart it waits for its sessions
    (docs/rras.md#draining-before-a-restart); the timeout alone changes nothing (``_signature``). Components
    chain one of these per node, so the engine runs the roll one node at a time and stops it at the first
    failure, with the failing node still drained (the error says so) and every node before it recorded as
    done.
    """

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # The outputs are the inputs (plus last_restart), so the engine's own diff of the inputs sees the
        # same change and shows only the revisions that moved (docs/pulumi-engine.md#detailed-diffs).
        changed = _signature(olds) != _signature(news)
        return DiffResult(changes=None if changed else False, replaces=[], stables=[])

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
    def _needed(node: dict[str, Any], old: dict[str, Any] | None) -> tuple[list[str], list[str]]:
        """The services to restart, and the settings that changed (their revisions name them)."""
        services: list[str] = []
        because: list[str] = []
        for service in ("IKEEXT", "RemoteAccess", "Computer"):
            revisions = [str(r) for r in node["services"].get(service) or []]
            before = [str(r) for r in ((old or {}).get("services") or {}).get(service) or []]
            # Only a setting this run (or an earlier one) really wrote: a setting found already right
            # ("adopted": a new value that is absent, say) or one that left the list (it is deleted at the
            # end of the run, docs/rras.md#removing-a-node-or-cluster) gives the service nothing new to read.
            moved = [r for r in revisions if r != "adopted" and r not in before]
            if moved:
                services.append(service)
            because += [_setting_of(r) for r in moved if _setting_of(r) not in because]
        if "Computer" in services:
            # a reboot starts every service again (docs/rras.md#rebooting-a-node)
            return ["Computer"], because
        if "IKEEXT" in services and "RemoteAccess" not in services:
            # RemoteAccess depends on IKEEXT (docs/rras.md#when-changes-take-effect)
            services.append("RemoteAccess")
        return services, because

    def _restart(self, node: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any] | None:
        services, because = self._needed(node, old)
        if not services:
            return None
        name = node["node"]
        drained = False
        steps: list[str] = []
        try:
            if node.get("drain"):
                set_node_enabled(node["drain"], False, self._secrets)
                drained = True
                steps.append(f"drained on the {node['drain'].get('kind')} load balancer")
            session = session_for(NodeConnection.from_device(name, node["device"]), self._secrets)
            # drained: wait for its sessions to end (docs/rras.md#draining-before-a-restart)
            timeout = float(node.get("drain_timeout_seconds") or 0) if drained else 0.0
            drain_wait = wait_for_sessions(session, timeout)
            tell(drain_wait.describe(name), warning=drain_wait.sessions != 0)
            if services == ["Computer"]:
                reboot(session)
                steps.append(f"rebooted because {', '.join(because)} changed")
            else:
                for service in services:
                    session.invoke("Restart-Service", {"Name": service}, switches=("Force",))
                for service in services:
                    _wait_running(session, service)
                steps.append(f"{' and '.join(services)} restarted because {', '.join(because)} changed")
            if drained:
                set_node_enabled(node["drain"], True, self._secrets)
                drained = False
                steps.append("enabled")
            else:
                steps.append("not drained (no load balancer drain)")
        except ProviderError as exc:
            state = "it is still drained on the load balancer" if drained else "it was not drained"
            later = ", ".join(node.get("later_nodes") or []) or "none"
            tell(f"{name}: {', '.join(steps) or 'nothing done'}; stopped: {exc}", warning=True)
            raise ProviderError(
                f"rolling restart stopped at node {name} ({state}): {exc}. Nodes after it in the roll "
                f"are left as they are ({later}). Fix the node and run `up` again."
            ) from None
        summary = f"{name}: {', '.join(steps)}"
        tell(summary)
        return {
            "services": services,
            "because": because,
            "steps": summary,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **drain_wait.record(),
        }


def _setting_of(revision: str) -> str:
    """The setting a revision names ("ipsec-policy 3f2a…"); one of an earlier version names none."""
    label, _, stamp = revision.rpartition(" ")
    return label if label and stamp else "a setting"


class ClientProfileProvider(Record, ResourceProvider):
    """What the clients of one cluster see: the virtual address, the load balancer serving it, and the
    IPsec policy their profile must carry. Nothing on a device: a record whose diff tells the person
    reading the preview what a change means for clients, as engine warnings:

    - the policy changes: clients must get the new profile (they must use the server's policy, 13868);
    - the load balancer changes vendor or appliance: the virtual address moves from one appliance to
      the other; the new objects are created before the old ones are deleted at the end of the run.

    Inputs (and outputs): ``cluster``, ``load_balancer`` (``kind``, ``url``), ``virtual_address``,
    ``policy`` (the Set-VpnServerConfiguration parameters, as the nodes get them).
    """

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = plain(olds), plain(news)
        keys = ("cluster", "load_balancer", "virtual_address", "policy")
        if all(olds.get(k) == news.get(k) for k in keys):
            return DiffResult(changes=False, replaces=[], stables=[])
        name = news.get("cluster")
        old_lb, new_lb = olds.get("load_balancer") or {}, news.get("load_balancer")
        if isinstance(new_lb, dict) and old_lb and old_lb != new_lb:
            warn_once(
                f"{name} lb {old_lb} {new_lb}",
                f"{name}: virtual address {news.get('virtual_address')} moves from the "
                f"{old_lb.get('kind')} load balancer at {old_lb.get('url')} to the {new_lb.get('kind')} one "
                f"at {new_lb.get('url')}: "
                "the new appliance's objects are created first and the old appliance's deleted at the end of "
                "the run, so both hold the address meanwhile; sessions through the old appliance drop.",
            )
        old, new = olds.get("policy") or {}, news.get("policy")
        # Only what the client profile carries (its CryptographySuite): SA lifetimes and data sizes are not
        # negotiated (RFC 7296 section 2.8), so a change of those alone reaches no client.
        crypto = [k for k in sorted(set(old) | set(new or {})) if k in CLIENT_PROFILE_PARAMETERS]
        if old and isinstance(new, dict) and any(old.get(k) != new.get(k) for k in crypto):
            what = ", ".join(f"{k} {old.get(k)} -> {new.get(k)}" for k in crypto if old.get(k) != new.get(k))
            warn_once(
                f"{name} policy {what}",
                f"{name}: the IPsec policy changes ({what}); clients must use the same policy or fail "
                "with error 13868: redeploy the client profile "
                f"(stack output clusters.{name}.clientProfile).",
            )
        # The outputs are the inputs: the engine's own input diff shows the changed fields alone.
        return DiffResult(changes=None, replaces=[], stables=[])

    def record_id(self, props: dict[str, Any]) -> str:
        return f"{props['cluster']} client profile"


def _wait_running(session: NodeSession, service: str) -> None:
    deadline = time.monotonic() + HEALTHY_WAIT_S
    status = "unknown"
    while time.monotonic() < deadline:
        out = session.invoke("Get-Service", {"Name": service})
        # a string over remoting, an enum object or its number (docs/rras.md#get-service-over-remoting)
        status = service_status(prop(out[0], "Status")) if out else "missing"
        if status == "Running":
            return
        time.sleep(1.0)
    raise ProviderError(
        f"node {session.conn.name}: service {service} is {status}, not Running, after restart"
    )


def _signature(props: dict[str, Any]) -> tuple[Any, ...]:
    """What a restart depends on; ``later_nodes`` and ``owner`` only label it, and ``drain_timeout_seconds``
    only shapes the next restart (update and create act on the new inputs), so changing it restarts
    nothing."""
    return (props.get("node"), props.get("services"), props.get("drain"), props.get("device"))
