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

One ``NodeRemovalProvider`` resource per node. Every setting of the node depends on it and it depends on
the load-balancer objects (and on the previous node's removal), so on delete the engine deletes the
settings first (``NodeSettingProvider.delete``: keep or revert, and ``note_removed``), then the removals one
node at a time, then the load-balancer objects. Creating or updating it writes nothing anywhere: changing
``on_remove`` or the drain timeout is an update of the records the delete will read.

Inputs (and outputs): ``node``, ``cluster``, ``device`` (WinRM), ``owner``, ``drain`` (the load balancer's
drain spec, or None), ``on_remove``, ``drain_timeout_seconds`` and ``services`` (what a revert restarts:
IKEEXT and RemoteAccess; ``Computer`` reboots instead).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import DiffResult

from providers.common.device import ConfiguredProvider
from providers.common.diagnostics import tell, warn_once
from providers.common.drain import set_node_enabled
from providers.common.errors import ProviderError
from providers.common.record import Record
from providers.common.resource import plain
from providers.rras.session import NodeConnection, session_for
from providers.rras.sessions import reboot, wait_for_sessions, wait_running

KEEP, REVERT = "keep", "revert"
#: What a revert restarts when its inputs do not say (a state written before ``services``).
DEFAULT_SERVICES = ("IKEEXT", "RemoteAccess")
CLIENTS_FAIL = (
    "it now negotiates RRAS's default IPsec policy (3DES, SHA-1, DH group 2), and clients whose profile asks "
    "for AES fail with error 13868 against it"
)


def on_remove(props: dict[str, Any]) -> str:
    """keep or revert; a state written before ``on_remove`` existed keeps."""
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
_LOCK = threading.Lock()


def _key(props: dict[str, Any]) -> tuple[str, str]:
    return str(props["node"]), str((props.get("device") or {}).get("url", "")).rstrip("/")


def note_removed(props: dict[str, Any], setting: str, kept: bool) -> None:
    """A node setting was deleted (``props``: its outputs): say so, and remember it for the node's removal.

    Only what the stack had set counts: a value it only ensured absent, or one it hands back to Windows on
    delete (``keep_on_delete``), leaves nothing behind either way."""
    if "path" in props and "name" in props:
        if props.get("ensure", "present") != "present" or props.get("keep_on_delete"):
            return
        by_hand = f"Remove-ItemProperty -Path '{props['path']}' -Name '{props['name']}'"
    elif "policy" in props:
        by_hand = "Set-VpnServerConfiguration -TunnelType IKEv2 -RevertToDefault"
    else:
        by_hand = f"the Windows default of {setting}"
    with _LOCK:
        _REMOVED.setdefault(_key(props), []).append(Removed(setting, by_hand, kept))
    node = props["node"]
    if kept:
        tell(f"{node}: {setting} left on the node as it is (rras.onRemove: keep)")
    else:
        tell(f"{node}: {setting} put back to the Windows default; it takes effect when the node restarts")


def _taken(props: dict[str, Any]) -> list[Removed]:
    """The node's removed settings, by name (they are deleted in parallel, in no set order)."""
    with _LOCK:
        return sorted(_REMOVED.pop(_key(props), []), key=lambda r: r.setting.lower())


def _signature(props: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("node", "cluster", "device", "owner", "drain", "on_remove", "drain_timeout_seconds", "services")
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
        removed = _taken(props)
        if on_remove(props) == KEEP:
            tell(_kept_message(props, removed), warning=True)
            return
        self._revert(props, [r for r in removed if not r.kept])

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
