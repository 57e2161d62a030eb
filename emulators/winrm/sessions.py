"""The VPN clients of an RRAS node, and its boots: the state and rules behind
Get-RemoteAccessConnectionStatistics, Restart-Computer and Get-CimInstance Win32_OperatingSystem
(emulators/winrm/cmdlets/remoteaccess.py and computer.py).

A simulated client is connected until it disconnects by itself (its ``duration`` has passed: a user closing
the tunnel, a drained node's clients leaving) or until a restart of RemoteAccess, RasMan or IKEEXT, or a
reboot, drops it; ``sessions_dropped`` counts only the dropped ones (docs/rras.md#draining-before-a-restart).
``vpn_sessions`` is the number still connected (setting it connects that many clients that never leave,
as the twin always did). A reboot (``reboot()``: Restart-Computer, the admin route) drops the shells, the
clients and every service's runtime state, and moves ``booted_at``, which Win32_OperatingSystem reports
as ``LastBootUpTime`` (docs/rras.md#rebooting-a-node).

Runtime-only state, as the rest of the node's sessions: nothing here is saved.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulators.common import TwinBackend

#: How long after Restart-Computer answers the twin reboots (Windows answers, then shuts down).
REBOOT_DELAY_S = 0.5


@dataclass(frozen=True)
class VpnClient:
    """One connected client: what Get-RemoteAccessConnectionStatistics reports about it."""

    number: int
    user: str
    #: the address RRAS gave the client inside the tunnel
    address: str
    #: the client's public address, the source the load balancer preserved
    external: str
    started: datetime
    #: ``time.monotonic()`` when it disconnects by itself; None: only a restart or reboot ends it
    ends: float | None


class SessionsMixin(TwinBackend):
    """The connected VPN clients and the boot time of one node (see the module docstring)."""

    # Set by RrasBackend.
    hostname: str
    status: dict[str, str]
    sessions_dropped: int

    def __init__(self, data_dir: Path | str | None = None) -> None:
        self._clients: list[VpnClient] = []
        self._numbered = 0
        #: clients that disconnected by themselves (not dropped)
        self.sessions_ended = 0
        self.booted_at = datetime.now(UTC)
        self.reboot_delay_s = REBOOT_DELAY_S
        super().__init__(data_dir)

    # -- the clients ----------------------------------------------------------------------------------
    @property
    def vpn_sessions(self) -> int:
        """The clients connected now."""
        with self.lock:
            self._end_finished()
            return len(self._clients)

    @vpn_sessions.setter
    def vpn_sessions(self, count: int) -> None:
        """``count`` clients that stay until a restart or reboot drops them (0: none)."""
        with self.lock:
            self._clients = []
            self._add([None] * max(0, int(count)))

    def connect_clients(self, durations: list[float | None]) -> None:
        """Replace the connected clients with one per entry of ``durations``: seconds until that client
        disconnects by itself, None for one that stays. Nobody connects while RemoteAccess is not running."""
        with self.lock:
            self._clients = []
            if self.status.get("RemoteAccess") == "Running":
                self._add(durations)

    def set_vpn_clients(self, spec: dict[str, Any]) -> None:
        """The admin route's body: ``{"count": 12}`` (they stay), ``{"count": 12, "duration": 2.5}`` (each
        leaves after 2.5 s), ``{"count": 12, "spread": [0.5, 30]}`` (leaving at even steps from 0.5 s to
        30 s), or ``{"durations": [0.5, null, 3]}`` (one client per entry, null: it stays)."""
        durations: list[float | None]
        if "durations" in spec:
            durations = [None if d is None else float(d) for d in spec["durations"]]
        else:
            count = max(0, int(spec.get("count", 0)))
            if "spread" in spec:
                first, last = (float(v) for v in spec["spread"])
                step = (last - first) / (count - 1) if count > 1 else 0.0
                durations = [first + i * step for i in range(count)]
            elif spec.get("duration") is not None:
                durations = [float(spec["duration"])] * count
            else:
                durations = [None] * count
        if any(d is not None and d < 0 for d in durations):
            raise ValueError("a client's duration cannot be negative")
        self.connect_clients(durations)

    def vpn_clients(self) -> list[VpnClient]:
        """The clients connected now, oldest first."""
        with self.lock:
            self._end_finished()
            return list(self._clients)

    def _add(self, durations: list[float | None]) -> None:
        now, wall = time.monotonic(), datetime.now(UTC)
        for duration in durations:
            self._numbered += 1
            n = self._numbered
            self._clients.append(
                VpnClient(
                    number=n,
                    user=f"CONTOSO\\user{n}",
                    address=f"10.255.{(n // 250) % 250}.{n % 250 + 1}",
                    external=f"203.0.113.{n % 250 + 1}",
                    started=wall,
                    ends=None if duration is None else now + duration,
                )
            )

    def _end_finished(self) -> None:
        """Forget the clients whose time has come (under the lock)."""
        now = time.monotonic()
        staying = [c for c in self._clients if c.ends is None or c.ends > now]
        self.sessions_ended += len(self._clients) - len(staying)
        self._clients = staying

    # -- boots ----------------------------------------------------------------------------------------
    def schedule_reboot(self) -> None:
        """What Restart-Computer starts: the node reboots ``reboot_delay_s`` later (its answer goes first)."""
        timer = threading.Timer(self.reboot_delay_s, self.reboot)
        timer.daemon = True
        timer.start()

    def _reboot_sessions(self) -> None:
        """A reboot: every connected client is dropped, and the node has booted again (under the lock)."""
        self._end_finished()
        self.sessions_dropped += len(self._clients)
        self._clients = []
        self.booted_at = datetime.now(UTC)
