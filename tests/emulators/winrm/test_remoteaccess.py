"""The twin's VPN connections and reboots through pypsrp: Get-RemoteAccessConnectionStatistics writes one
object per connection (none when there is none), clients leave by themselves and a restart drops the rest;
Restart-Computer answers, then reboots the node (shells, clients, services, boot time), and refuses what
PowerShell refuses; Get-CimInstance reports the boot time (docs/rras.md#draining-before-a-restart,
docs/rras.md#rebooting-a-node)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import WSMan

from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.emulators.winrm.client import Node, ps_errors, ps_props

CONNECTION = (
    "Microsoft.Management.Infrastructure.CimInstance#root/Microsoft/Windows/RemoteAccess/"
    "RemoteAccessMonitoringConnection"
)


def ntlm_node(twin: RunningTwin, tls: TLSMaterial) -> Node:
    """A runspace pool over HTTPS with NTLM (what Windows accepts by default)."""
    wsman = WSMan(
        "127.0.0.1",
        port=twin.port,
        ssl=True,
        auth="ntlm",
        cert_validation=str(tls.ca_path),
        username="automation",
        password="automation-pass",
    )
    return Node(twin, wsman)


@pytest.fixture
def rras(tls: TLSMaterial) -> Iterator[tuple[RunningTwin, Node]]:
    twin = start_twin("winrm", tls=tls)
    node = ntlm_node(twin, tls)
    yield twin, node
    node.close()
    twin.stop()


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it answers something true (time is never asserted, only waited for)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def connections(node: Node) -> list[Any]:
    ps = node.run("Get-RemoteAccessConnectionStatistics")
    assert not ps.had_errors and not ps.streams.error, ps_errors(ps)
    return list(ps.output)


def sessions(twin: RunningTwin) -> dict[str, int]:
    found: dict[str, int] = twin.admin()._call("GET", "vpn-sessions")
    return found


def test_one_object_per_connection_clients_leave_and_a_restart_drops_the_rest(
    rras: tuple[RunningTwin, Node],
) -> None:
    twin, node = rras
    assert connections(node) == []  # no connection: no output at all
    twin.admin()._call("PUT", "vpn-sessions", {"durations": [0.2, None, None]})
    first = connections(node)
    assert len(first) == 3
    assert CONNECTION in first[0].types
    props = ps_props(first[0])
    assert props["UserName"] == ["CONTOSO\\user1"] and props["TunnelType"] == "IKEv2"
    assert props["ConnectionType"] == "Vpn" and props["ClientIPv4Address"] != props["ClientExternalAddress"]

    eventually(lambda: len(connections(node)) == 2, "the first client disconnecting by itself")
    assert sessions(twin) == {"vpn_sessions": 2, "sessions_dropped": 0}  # leaving is not being dropped

    restarted = node.run("Restart-Service", "Force", Name="RemoteAccess")
    assert not restarted.streams.error
    assert connections(node) == []
    assert sessions(twin) == {"vpn_sessions": 0, "sessions_dropped": 2}


def test_clients_spread_over_time_and_the_accounting_set_is_refused(rras: tuple[RunningTwin, Node]) -> None:
    twin, node = rras
    answer = twin.admin()._call("PUT", "vpn-sessions", {"count": 3, "spread": [0.1, 3600]})
    assert answer["vpn_sessions"] == 3
    eventually(lambda: len(connections(node)) == 2, "the client with the shortest duration leaving")
    twin.admin()._call("PUT", "vpn-sessions", {"count": 2, "duration": 3600})
    assert len(connections(node)) == 2

    accounting = node.run("Get-RemoteAccessConnectionStatistics", StartDateTime="2024-01-01")
    assert accounting.had_errors
    assert [fqid for fqid, _, _ in ps_errors(accounting)] == ["TwinAccountingNotSupported"]


def test_restart_computer_answers_then_reboots_the_node(
    tls: TLSMaterial, rras: tuple[RunningTwin, Node]
) -> None:
    twin, node = rras
    (before,) = node.run("Get-CimInstance", ClassName="Win32_OperatingSystem").output
    assert "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_OperatingSystem" in before.types
    booted = ps_props(before)["LastBootUpTime"]
    assert ps_props(before)["BuildNumber"] == "20348"
    twin.admin()._call("PUT", "vpn-sessions", {"count": 5})
    starts = twin.admin().state()["runtime"]["services"]["RemoteAccess"]["start_count"]

    ps = node.run("Restart-Computer", "Force")
    assert ps.output == [] and not ps.had_errors and not ps.streams.error  # Windows writes nothing

    eventually(lambda: twin.admin().state()["boot_count"] == 2, "the reboot")
    with pytest.raises(WSManFaultError):  # the old shell went with the reboot
        node.run("Get-Service", Name="RemoteAccess")
    state = twin.admin().state()
    assert state["runtime"]["services"]["RemoteAccess"]["start_count"] == starts + 1
    assert state["runtime"]["services"]["RemoteAccess"]["status"] == "Running"
    assert sessions(twin) == {"vpn_sessions": 0, "sessions_dropped": 5}

    again = ntlm_node(twin, tls)
    try:
        (after,) = again.run("Get-CimInstance", ClassName="Win32_OperatingSystem").output
        assert ps_props(after)["LastBootUpTime"] > booted
    finally:
        again.close()


def test_restart_computer_refuses_what_powershell_refuses(rras: tuple[RunningTwin, Node]) -> None:
    twin, node = rras
    wait = node.run("Restart-Computer", "Wait", "Force")
    ((fqid, category, text),) = ps_errors(wait)
    assert fqid == "CannotWaitLocalComputer,Microsoft.PowerShell.Commands.RestartComputerCommand"
    assert category.startswith("InvalidOperation:") and "The local computer is ignored" in text
    assert not wait.had_errors  # non-terminating

    timeout = node.run("Restart-Computer", "Force", Timeout=60)
    assert timeout.had_errors
    assert ps_errors(timeout)[0][0].startswith("RestartComputerInvalidParameter,")

    assert not node.run("Restart-Computer", "Force", "WhatIf").streams.error
    other = node.run("Restart-Computer", "Force", ComputerName="rras9")
    assert other.had_errors and ps_errors(other)[0][0] == "TwinNotEmulated"
    unknown = node.run("Get-CimInstance", ClassName="Win32_Service")
    assert unknown.had_errors and ps_errors(unknown)[0][0] == "TwinNotEmulated"

    time.sleep(twin.app.backend.reboot_delay_s * 2)  # a reboot would have happened by now
    assert twin.admin().state()["boot_count"] == 1
