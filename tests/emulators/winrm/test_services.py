"""The service cmdlets on the WinRM twin: a ServiceController shaped as a real node's arrives over remoting
(Status as a string; enum objects on request), status, unknown services, restarts with dependents and
dropped VPN sessions, failed starts, and slow restarts over long-polled Receives and Ctrl+C.
"""

from __future__ import annotations

from typing import Any

from pypsrp.powershell import PowerShell

from emulators.common import RunningTwin, TLSMaterial, start_twin
from providers.rras.values import service_status
from tests.emulators.winrm.client import Node, ps_errors, ps_props

#: A ServiceController's adapted properties in the order a real node sends them
#: (docs/rras.md#get-service-over-remoting).
ADAPTED = [
    "CanPauseAndContinue",
    "CanShutdown",
    "CanStop",
    "DisplayName",
    "DependentServices",
    "MachineName",
    "ServiceName",
    "ServicesDependedOn",
    "ServiceHandle",
    "Status",
    "ServiceType",
    "StartType",
    "Site",
    "Container",
]
SERVICE_TYPES = [
    "System.ServiceProcess.ServiceController",
    "System.ComponentModel.Component",
    "System.MarshalByRefObject",
    "System.Object",
]


def test_get_service_arrives_as_a_real_nodes_does(node: Node) -> None:
    (svc,) = node.run("Get-Service", Name="RasMan").output
    assert svc.types == SERVICE_TYPES and str(svc) == "RasMan"  # ToString is the name
    assert list(svc.adapted_properties) == ADAPTED
    assert list(svc.extended_properties) == ["Name", "RequiredServices"]
    props = ps_props(svc)
    # over remoting the enums arrive as their names
    assert (props["Status"], props["StartType"], props["ServiceType"]) == (
        "Running",
        "Automatic",
        "Win32ShareProcess",
    )
    assert props["ServiceHandle"] == "SafeServiceHandle" and props["MachineName"] == "."
    assert props["Site"] is None and props["Container"] is None
    assert props["DependentServices"] == ["RemoteAccess"]  # the dependents, by name
    assert props["ServicesDependedOn"] == props["RequiredServices"] == ["SstpSvc"]
    assert props["Name"] == props["ServiceName"] == "RasMan"
    assert service_status(props["Status"]) == "Running"


def test_on_request_service_enums_arrive_as_enum_objects(twin: RunningTwin, node: Node) -> None:
    twin.admin()._call("PUT", "readback-form", {"form": "enum"})
    (svc,) = node.run("Get-Service", Name="RemoteAccess").output
    status: Any = ps_props(svc)["Status"]
    assert status.types[:2] == ["System.ServiceProcess.ServiceControllerStatus", "System.Enum"]
    assert str(status) == "Running" and status.property_sets == [4]
    start_type: Any = ps_props(svc)["StartType"]
    assert str(start_type) == "Automatic" and start_type.property_sets == [2]
    assert service_status(status) == "Running"
    twin.admin()._call("PUT", "readback-form", {"form": "uint32"})
    assert ps_props(node.run("Get-Service", Name="RemoteAccess").output[0])["Status"] == "Running"


def test_get_service_status_and_unknown_service(node: Node) -> None:
    (svc,) = node.run("Get-Service", Name="RemoteAccess").output
    props = ps_props(svc)
    assert str(props["Status"]) == "Running" and props["DisplayName"] == "Routing and Remote Access"
    assert "System.ServiceProcess.ServiceController" in svc.types
    ps = node.run("Get-Service", Name="NoSuchSvc")
    ((fqid, _category, text),) = ps_errors(ps)
    assert fqid == "NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand"
    assert text == "Cannot find any service with service name 'NoSuchSvc'." and not ps.had_errors
    assert len(node.run("Get-Service", Name="R*").output) == 2  # RemoteAccess, RasMan


def test_restart_counts_dependents_and_dropped_sessions(twin: RunningTwin, node: Node) -> None:
    admin = twin.admin()
    counts = {k: v["start_count"] for k, v in admin.state()["runtime"]["services"].items()}
    admin._call("PUT", "vpn-sessions", {"count": 25})

    refused = node.run("Restart-Service", Name="RasMan")
    ((fqid, _, text),) = ps_errors(refused)
    assert fqid == "ServiceHasDependentServices,Microsoft.PowerShell.Commands.RestartServiceCommand"
    assert "Remote Access Connection Manager (RasMan)" in text
    assert admin._call("GET", "vpn-sessions")["vpn_sessions"] == 25

    ok = node.run("Restart-Service", "Force", "PassThru", Name="RasMan")
    assert not ok.streams.error and str(ps_props(ok.output[0])["Status"]) == "Running"
    services = admin.state()["runtime"]["services"]
    assert services["RasMan"]["start_count"] == counts["RasMan"] + 1
    assert (
        services["RemoteAccess"]["start_count"] == counts["RemoteAccess"] + 1
    )  # the dependent came back too
    assert services["IKEEXT"]["start_count"] == counts["IKEEXT"]
    assert admin._call("GET", "vpn-sessions") == {"vpn_sessions": 0, "sessions_dropped": 25}


def test_failed_start_leaves_the_service_stopped(twin: RunningTwin, node: Node) -> None:
    twin.admin()._call("POST", "service-faults", {"service": "RemoteAccess"})
    ps = node.run("Restart-Service", "Force", Name="RemoteAccess")
    ((fqid, category, _),) = ps_errors(ps)
    assert fqid == "StartServiceFailed,Microsoft.PowerShell.Commands.RestartServiceCommand"
    assert category.startswith("OpenError:")
    assert str(ps_props(node.run("Get-Service", Name="RemoteAccess").output[0])["Status"]) == "Stopped"
    assert not node.run("Start-Service", Name="RemoteAccess").streams.error
    assert str(ps_props(node.run("Get-Service", Name="RemoteAccess").output[0])["Status"]) == "Running"


def test_slow_restart_long_polls_warns_and_survives_operation_timeouts(tls: TLSMaterial) -> None:
    slow = start_twin("winrm", tls=tls, restart_seconds=5.0, allow_basic=True)
    try:
        n = Node(slow, operation_timeout=1, read_timeout=10)
        ps = n.run("Restart-Service", "Force", Name="RemoteAccess")
        assert not ps.had_errors and not ps.streams.error
        assert any(
            "Waiting for service 'Routing and Remote Access (RemoteAccess)'" in w.message
            for w in ps.streams.warning
        )
        faults = [e for e in slow.admin().log() if e.get("fault") == 2150858793]
        assert faults  # Receive timed out at least once and pypsrp polled again

        # Ctrl+C (WSMan Signal) stops a running pipeline; the pool stays usable.
        stopped = PowerShell(n.pool)
        stopped.add_cmdlet("Restart-Service").add_parameter("Name", "IKEEXT").add_parameter("Force")
        stopped.begin_invoke()
        stopped.stop()
        assert stopped.state == 3  # Stopped
        assert [e.get("wsman") for e in slow.admin().log()][-1] == "Signal"
        status = n.run("Get-Service", Name="RemoteAccess").output[0]
        assert str(ps_props(status)["Status"]) == "Running"
        n.close()
    finally:
        slow.stop()
