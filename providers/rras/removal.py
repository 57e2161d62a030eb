"""What removing a node or a cluster from the stack (or ``destroy``) does to the node: ``rras.onRemove``.

RRAS falls back to its default IPsec policy (3DES, SHA-1, DH group 2) when the custom policy is reverted,
and only when RemoteAccess next starts; clients whose profile asks for AES then fail with error 13868. So
a removal never changes a node's crypto silently (docs/rras.md#removing-a-node-or-cluster):

- ``keep`` (the default): nothing is sent to the node; its policy and registry values stay, stored and in
  effect, and the run says so per node, with how to put Windows' defaults back by hand.
- ``revert``: each setting puts Windows' default back (``Set-VpnServerConfiguration -RevertToDefault``, the
  registry values removed), then the node is drained on the load balancer, its VPN sessions are waited for,
  its services are restarted (rebooted when a reverted setting needs it) so the defaults take effect now,
  and it is enabled again; the run warns about the 13868 failures.

One ``NodeRemovalProvider`` resource per node, made after the node's settings: it depends on every setting
of its node (``settings`` of its inputs lists them), on the load-balancer objects and on the previous node's
removal, while the settings depend on nothing of the load balancer, so they are written in parallel with it.
A delete runs in reverse dependency order, so when a node or the cluster leaves the stack the engine deletes
the removals first, one node at a time, before the node's settings and before the load-balancer objects:
with ``revert`` the removal puts every listed setting back itself (the setting's own provider's
``delete_object``), then restarts the node drained; the settings' deletes that follow send nothing more
(``on_remove`` answers keep for a setting its node's removal has handled in this run, and ``note_removed``
stays silent for it). With ``keep`` nothing is sent, by the removal or by the settings. A state written
before ``settings`` (removals that depended on the load balancer, settings that depended on them) is
deleted in its recorded order: the settings first (each keeps or reverts, and ``note_removed``), then the
removals. Creating or updating a removal writes nothing anywhere: changing ``on_remove``, the drain timeout
or the list of settings is an update of the records the delete will read.

Inputs (and outputs): ``node``, ``cluster``, ``device`` (WinRM), ``owner``, ``drain`` (the load balancer's
drain spec, or None), ``on_remove``, ``drain_timeout_seconds``, ``services`` (what a revert restarts:
IKEEXT and RemoteAccess; ``Computer`` reboots instead) and ``settings`` (the node's settings, each its
``type`` and what its provider's ``delete_object`` reads: ``SETTING_TYPES``).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulumi.dynamic import DiffResult

from providers.common.device import ConfiguredProvider
from providers.common.diagnostics import tell, warn_once
from providers.common.drain import set_node_enabled
from providers.common.errors import ProviderError
from providers.common.record import Record
from providers.common.resource import plain
from providers.rras.session import NodeConnection, NodeSession, session_for
from providers.rras.sessions import reboot, wait_for_sessions, wait_running

if TYPE_CHECKING:
    from providers.rras.objects import NodeSettingProvider

KEEP, REVERT = "keep", "revert"
#: What a revert restarts when its inputs do not say (a state written before ``services``).
DEFAULT_SERVICES = ("IKEEXT", "RemoteAccess")
CLIENTS_FAIL = (
    "it now negotiates RRAS's default IPsec policy (3DES, SHA-1, DH group 2), and clients whose profile asks "
    "for AES fail with error 13868 against it"
)


#: A removal's ``settings``, by ``type``: the provider class (module, name) whose ``delete_object`` puts the
#: setting back (imported when a removal reverts: those modules import this one).
SETTING_TYPES = {
    "ipsec-policy": ("providers.rras.objects", "IpsecPolicyProvider"),
    "registry-value": ("providers.rras.objects", "RegistryValueProvider"),
    "tls-registry-value": ("providers.rras.tls", "TlsRegistryValueProvider"),
    "accepted-root": ("providers.rras.hardening", "AcceptedRootProvider"),
}


def on_remove(props: dict[str, Any]) -> str:
    """What deleting ``props`` (a setting's or a removal's outputs) still has to do: keep (send nothing) or
    revert. A state written before ``on_remove`` existed keeps; so does a setting its node's removal has
    already put back (or kept) in this run (``_handled``)."""
    if _handled(props, take=False):
        return KEEP
    return REVERT if str(props.get("on_remove") or KEEP) == REVERT else KEEP


@dataclass(frozen=True)
class Removed:
    """A setting of a node that a run removed from the stack."""

    setting: str
    #: the command that puts Windows' default back by hand
    by_hand: str
    #: left on the node (keep), or put back to Windows' default (revert)
    kept: bool


_REMOVED: dict[tuple[str, str], list[Removed]] = {}
#: The settings (node key, identity) whose node's removal put them back or kept them in this run.
_HANDLED: set[tuple[tuple[str, str], tuple[str, ...]]] = set()
_LOCK = threading.Lock()


def _key(props: dict[str, Any]) -> tuple[str, str]:
    return str(props["node"]), str((props.get("device") or {}).get("url", "")).rstrip("/")


def _identity(props: dict[str, Any]) -> tuple[str, ...] | None:
    """Which setting of its node ``props`` (a setting's outputs, or an entry of a removal's ``settings``)
    is: the registry value by path and name, the IPsec policy, the accepted root; None for anything else."""
    if props.get("path") is not None and props.get("name") is not None:
        return "value", str(props["path"]).lower(), str(props["name"]).lower()
    if "policy" in props or props.get("type") == "ipsec-policy":
        return ("ipsec-policy",)
    if "thumbprint" in props or props.get("type") == "accepted-root":
        return ("accepted-root",)
    return None


def _handled(props: dict[str, Any], *, take: bool) -> bool:
    """Whether the node's removal handled this setting in this run (``take``: and forget it)."""
    identity = _identity(props)
    if identity is None or "node" not in props:
        return False
    entry = (_key(props), identity)
    with _LOCK:
        found = entry in _HANDLED
        if found and take:
            _HANDLED.discard(entry)
    return found


def _removed(props: dict[str, Any], setting: str, kept: bool) -> Removed | None:
    """What deleting a setting leaves to say. Only what the stack had set counts: a value it only ensured
    absent, or one it hands back to Windows on delete (``keep_on_delete``), leaves nothing behind."""
    if props.get("path") is not None and props.get("name") is not None:
        if props.get("ensure", "present") != "present" or props.get("keep_on_delete"):
            return None
        by_hand = f"Remove-ItemProperty -Path '{props['path']}' -Name '{props['name']}'"
    elif "policy" in props or props.get("type") == "ipsec-policy":
        by_hand = "Set-VpnServerConfiguration -TunnelType IKEv2 -RevertToDefault"
    else:
        by_hand = f"the Windows default of {setting}"
    return Removed(setting, by_hand, kept)


def _tell_removed(node: str, setting: str, kept: bool) -> None:
    if kept:
        tell(f"{node}: {setting} left on the node as it is (rras.onRemove: keep)")
    else:
        tell(f"{node}: {setting} put back to the Windows default; it takes effect when the node restarts")


def note_removed(props: dict[str, Any], setting: str, kept: bool) -> None:
    """A node setting was deleted (``props``: its outputs): say so, and remember it for the node's removal.
    Silent for a setting its node's removal has already handled in this run (it said what became of it)."""
    if _handled(props, take=True):
        return
    removed = _removed(props, setting, kept)
    if removed is None:
        return
    with _LOCK:
        _REMOVED.setdefault(_key(props), []).append(removed)
    _tell_removed(str(props["node"]), setting, kept)


def _taken(props: dict[str, Any]) -> list[Removed]:
    """The node's removed settings, by name (they are deleted in parallel, in no set order)."""
    with _LOCK:
        return sorted(_REMOVED.pop(_key(props), []), key=lambda r: r.setting.lower())


def _signature(props: dict[str, Any]) -> tuple[Any, ...]:
    keys = (
        "node",
        "cluster",
        "device",
        "owner",
        "drain",
        "on_remove",
        "drain_timeout_seconds",
        "services",
        "settings",
    )
    return tuple(props.get(k) for k in keys)


class NodeRemovalProvider(Record, ConfiguredProvider):
    """What removing one node from the stack does to it (see the module docstring)."""

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = plain(olds), plain(news)
        changed = _signature(olds) != _signature(news)
        if changed and on_remove(news) == REVERT and on_remove(olds) != REVERT:
            warn_once(
                f"on-remove-revert:{news.get('cluster')}",
                f"{news.get('cluster')}: rras.onRemove is revert: removing a node or the cluster (or "
                "destroy) puts the nodes back to Windows' defaults and restarts them drained; "
                f"{CLIENTS_FAIL.replace('it now negotiates', 'a reverted node negotiates')}",
            )
        # The outputs are the inputs, so the engine's own diff shows the keys that moved.
        return DiffResult(changes=None if changed else False, replaces=[], stables=[])

    def record_id(self, props: dict[str, Any]) -> str:
        return f"removal-{props['node']}"

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        props = plain(props)
        removed = _taken(props)  # a state of the previous order: its settings were deleted first
        listed = props.get("settings")
        kept = on_remove(props) == KEEP
        if listed is not None:
            removed += self._listed(props, listed, kept)
        if kept:
            tell(_kept_message(props, removed), warning=True)
            self._handle(props, listed or [])
            return
        if listed:
            self._put_back(props, listed)
        self._revert(props, [r for r in removed if not r.kept])

    @staticmethod
    def _setting_provider(entry: dict[str, Any]) -> NodeSettingProvider:
        module, name = SETTING_TYPES[str(entry["type"])]
        provider: NodeSettingProvider = getattr(importlib.import_module(module), name)()
        return provider

    def _entry_props(self, props: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
        """A listed setting as its provider's delete reads it (the node's connection and owner added)."""
        return {k: props[k] for k in ("node", "device", "owner") if k in props} | entry

    def _listed(self, props: dict[str, Any], listed: list[dict[str, Any]], kept: bool) -> list[Removed]:
        found = []
        for entry in listed:
            full = self._entry_props(props, entry)
            removed = _removed(full, self._setting_provider(entry).setting(full), kept)
            if removed is not None:
                found.append(removed)
        return sorted(found, key=lambda r: r.setting.lower())

    def _handle(self, props: dict[str, Any], listed: list[dict[str, Any]]) -> None:
        """The node's settings that follow this removal in the delete send nothing more."""
        for entry in listed:
            identity = _identity(entry)
            if identity is not None:
                with _LOCK:
                    _HANDLED.add((_key(props), identity))

    def _put_back(self, props: dict[str, Any], listed: list[dict[str, Any]]) -> None:
        """``revert``: every listed setting back to Windows' default, before the drained restart (the
        settings' own deletes come after this one in the engine's order)."""
        name = str(props["node"])
        session: NodeSession = session_for(NodeConnection.from_device(name, props["device"]), self._secrets)
        for entry in listed:
            full = self._entry_props(props, entry)
            provider = self._setting_provider(entry)
            setting = provider.setting(full)
            try:
                provider.delete_object(session, full)
            except ProviderError as exc:
                raise ProviderError(
                    f"node {name}: {setting} could not be put back to Windows' default ({exc}); "
                    "the node was not restarted. Fix the node and run the removal again (`up` or `destroy`)."
                ) from None
            if _removed(full, setting, False) is not None:
                _tell_removed(name, setting, False)
        self._handle(props, listed)

    def _revert(self, props: dict[str, Any], reverted: list[Removed]) -> None:
        """Make the reverted settings effective now: drained restart (or reboot), then enabled again."""
        name = str(props["node"])
        drain: dict[str, Any] = props.get("drain") or {}
        services = [str(s) for s in props.get("services") or DEFAULT_SERVICES]
        steps: list[str] = []
        drained = False
        try:
            if drain:
                kind = drain.get("kind")
                try:
                    set_node_enabled(drain, False, self._secrets)
                    drained = True
                    steps.append(f"drained on the {kind} load balancer")
                except ProviderError as exc:
                    # Removing a node from an F5 pool removes its members before this runs: nothing to drain.
                    steps.append(f"not drained (the {kind} load balancer answered: {exc})")
            session = session_for(NodeConnection.from_device(name, props["device"]), self._secrets)
            timeout = float(props.get("drain_timeout_seconds") or 0) if drain else 0.0
            drain_wait = wait_for_sessions(session, timeout)
            tell(drain_wait.describe(name), warning=drain_wait.sessions != 0)
            if "Computer" in services:
                reboot(session)
                steps.append("rebooted")
            else:
                for service in services:
                    session.invoke("Restart-Service", {"Name": service}, switches=("Force",))
                for service in services:
                    wait_running(session, service)
                steps.append(f"{' and '.join(services)} restarted")
            if drained:
                set_node_enabled(drain, True, self._secrets)
                drained = False
                steps.append("enabled")
        except ProviderError as exc:
            state = "it is still drained on the load balancer" if drained else "it is not drained"
            tell(f"{name}: {', '.join(steps) or 'nothing done'}; stopped: {exc}", warning=True)
            raise ProviderError(
                f"node {name}: its settings are back to Windows' defaults but the restart that makes them "
                f"effective failed ({state}): {exc}. Fix the node and run the removal again (`up` or "
                "`destroy`), or restart its services by hand, drained."
            ) from None
        what = ", ".join(r.setting for r in reverted) or "its settings"
        tell(
            f"{name}: reverted to Windows' defaults (rras.onRemove: revert): {what}; {', '.join(steps)}: "
            f"{CLIENTS_FAIL}.",
            warning=True,
        )


def _kept_message(props: dict[str, Any], removed: list[Removed]) -> str:
    name, cluster = props["node"], props.get("cluster")
    kept = [r for r in removed if r.kept]
    what = ", ".join(r.setting for r in kept) or "the IPsec policy and registry values this stack set"
    by_hand = "; ".join(dict.fromkeys(r.by_hand for r in kept)) or (
        "Set-VpnServerConfiguration -TunnelType IKEv2 -RevertToDefault and Remove-ItemProperty of each value"
    )
    return (
        f"{name} (cluster {cluster}) removed from the stack with rras.onRemove: keep: nothing was written to "
        f"it, and {what} stay on it, stored and in effect. To put Windows' defaults back by hand: {by_hand}; "
        "then drain the node and Restart-Service RemoteAccess -Force (IKEEXT too for its values). Or declare "
        "rras.onRemove: revert and run `up` before removing a node; "
        f"a reverted node {CLIENTS_FAIL.removeprefix('it now ')}."
    )
