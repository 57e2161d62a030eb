"""What a node's restart waits for: its VPN sessions to end after it was drained, and the node itself to come
back after a reboot.

Draining a node on the load balancer only stops new clients; the connected ones stay until they disconnect,
and a restart of RemoteAccess drops whoever is still connected. So after the drain the restart waits until
the node has no VPN connection left, or until the drain timeout passes, and says how many it dropped
(docs/rras.md#draining-before-a-restart). The count is the number of objects
Get-RemoteAccessConnectionStatistics writes (one per active connection; none when there is none), never
parsed text.

Some settings take effect only when Windows starts (docs/rras.md#rebooting-a-node): the node is restarted
with ``Restart-Computer -Force``, which answers and then reboots; the node is back when
Win32_OperatingSystem's ``LastBootUpTime`` has moved (what Restart-Computer -Wait itself checks) and
RemoteAccess runs again. Both waits are bounded and poll with backoff; every command is a cmdlet with
bound parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from providers.common.errors import ProviderError
from providers.rras.session import NodeSession, RrasCommandError, RrasConnectionError
from providers.rras.values import service_status as status_name

#: First and longest pause between two counts of a node's sessions.
FIRST_POLL_S, MAX_POLL_S = 0.5, 5.0
#: How long a rebooted node may take to answer again with RemoteAccess running.
REBOOT_WAIT_S = 900.0
#: Pause between two probes of a rebooting node.
REBOOT_POLL_S = 2.0
#: How long a restarted service may take to run again.
SERVICE_WAIT_S = 120.0
COUNT_CMDLET = "Get-RemoteAccessConnectionStatistics"


@dataclass(frozen=True)
class SessionWait:
    """How the wait for a drained node's sessions ended."""

    #: VPN sessions still up when the wait ended (what the restart drops); None when they could not be counted
    sessions: int | None
    #: seconds waited
    waited_s: float
    #: the drain timeout the wait was allowed
    timeout_s: float
    #: why the sessions could not be counted (the node's error), if so
    problem: str | None = None

    def describe(self, node: str) -> str:
        """The line the run shows for this node before its restart."""
        waited = f"after {self.waited_s:.1f} s" if self.timeout_s else "(not waited for)"
        if self.sessions is None:
            return (
                f"{node}: its VPN sessions could not be counted ({self.problem}); restarted {waited}, "
                "dropping whoever was still connected"
            )
        if self.sessions == 0:
            return f"{node}: no VPN session left {waited}"
        plural = "s" if self.sessions != 1 else ""
        limit = f", the drain timeout of {self.timeout_s:g} s passed" if self.timeout_s else ""
        return f"{node}: {self.sessions} VPN session{plural} still up {waited}{limit}; the restart drops them"

    def record(self) -> dict[str, Any]:
        """What the restart's ``last_restart`` keeps of it."""
        return {
            "sessions_at_restart": self.sessions,
            "drain_waited_seconds": round(self.waited_s, 1),
            "drain_timeout_seconds": self.timeout_s,
        }


def count_sessions(session: NodeSession) -> int:
    """The node's active VPN connections: one object each from Get-RemoteAccessConnectionStatistics."""
    return len(session.invoke(COUNT_CMDLET))


def wait_for_sessions(
    session: NodeSession,
    timeout_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SessionWait:
    """Count the node's VPN sessions until none is left or ``timeout_s`` has passed (0: count once).

    While the cmdlet fails on the node its clients may still be connected, so the wait goes on to the
    timeout (and reports the sessions as uncounted); a node that cannot be reached raises (the roll stops
    there, the node still drained)."""
    start = clock()
    pause = FIRST_POLL_S
    while True:
        left: int | None
        problem: str | None = None
        try:
            left = count_sessions(session)
        except RrasCommandError as exc:
            left, problem = None, "; ".join(exc.records)[:300]
        waited = clock() - start
        if left == 0 or waited >= timeout_s:
            return SessionWait(left, waited, float(timeout_s), problem)
        sleep(min(pause, timeout_s - waited))
        pause = min(pause * 2, MAX_POLL_S)


def _prop(obj: Any, name: str) -> Any:
    for attr in ("adapted_properties", "extended_properties"):
        for key, value in (getattr(obj, attr, None) or {}).items():
            if str(key).lower() == name.lower():
                return value
    return None


def last_boot(session: NodeSession) -> str:
    """When the node last started (Win32_OperatingSystem LastBootUpTime, as text to compare)."""
    out = session.invoke("Get-CimInstance", {"ClassName": "Win32_OperatingSystem"})
    boot = _prop(out[0], "LastBootUpTime") if out else None
    if boot is None:
        raise ProviderError(f"node {session.conn.name}: Win32_OperatingSystem has no LastBootUpTime")
    return str(boot)


def service_status(session: NodeSession, service: str) -> str:
    """A service's status by its ServiceControllerStatus name ("Running"), whatever form the node sent."""
    out = session.invoke("Get-Service", {"Name": service})
    return status_name(_prop(out[0], "Status")) if out else "missing"


def wait_running(
    session: NodeSession,
    service: str,
    *,
    wait_s: float = SERVICE_WAIT_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait until ``service`` runs on the node; a ProviderError naming the node and service if it does not."""
    deadline = clock() + wait_s
    status = service_status(session, service)
    while status != "Running":
        if clock() >= deadline:
            raise ProviderError(f"node {session.conn.name}: service {service} is {status}, not Running")
        sleep(1.0)
        status = service_status(session, service)


def reboot(
    session: NodeSession,
    *,
    wait_s: float = REBOOT_WAIT_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Reboot the node (Restart-Computer -Force) and wait until it has booted again and RemoteAccess runs;
    the seconds it took. Raises a ProviderError naming the node when it is not back within ``wait_s``."""
    name = session.conn.name
    before = last_boot(session)
    start = clock()
    try:
        session.invoke("Restart-Computer", switches=("Force",))
    except RrasConnectionError:
        pass  # the shutdown may take the connection before the answer: the reboot has begun
    state = "not rebooted yet"
    while clock() - start < wait_s:
        sleep(REBOOT_POLL_S)
        try:
            if last_boot(session) == before:
                state = "not rebooted yet"
                continue
            status = service_status(session, "RemoteAccess")
        except (RrasConnectionError, RrasCommandError) as exc:
            state = f"not answering ({str(exc)[:200]})"
            continue
        if status == "Running":
            return clock() - start
        state = f"back, but RemoteAccess is {status}"
    raise ProviderError(f"node {name} did not come back within {wait_s:g} s of Restart-Computer: {state}")
