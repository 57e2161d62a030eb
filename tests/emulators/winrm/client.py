"""The pypsrp side of the WinRM twin's tests: connections, a runspace pool per node, readers of answers.

Basic over HTTPS (``https_wsman``) for the cmdlet tests, NTLM/Negotiate over plain HTTP (``http_wsman``);
the registry paths and the IPsec baseline the product writes.
"""

from __future__ import annotations

from typing import Any

from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from emulators.common import RunningTwin

IKEV2 = r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2"
IKEEXT = r"HKLM:\SYSTEM\CurrentControlSet\Services\IKEEXT\Parameters"
PSARG = "System.Management.Automation.PSArgumentException,"
SSTP = r"HKLM:\SYSTEM\CurrentControlSet\Services\SstpSvc\Parameters"

# Hicks' standard baseline (docs/rras.md#security-baselines), lifetimes as strings as his scripts pass them.
BASELINE = {
    "TunnelType": "IKEv2",
    "AuthenticationTransformConstants": "SHA256128",
    "CipherTransformConstants": "AES128",
    "DHGroup": "Group14",
    "EncryptionMethod": "AES128",
    "IntegrityCheckMethod": "SHA256",
    "PfsGroup": "PFS2048",
    "SALifeTimeSeconds": "28800",
    "MMSALifeTimeSeconds": "86400",
    "SADataSizeForRenegotiationKilobytes": "1024000",
}


def https_wsman(
    twin: RunningTwin,
    user: str = "Administrator",
    password: str = "admin-pass",  # noqa: S107 - the twin's seeded test user
    **kw: Any,
) -> WSMan:
    assert twin.tls is not None
    return WSMan(
        "127.0.0.1",
        port=twin.port,
        ssl=True,
        auth="basic",
        cert_validation=str(twin.tls.ca_path),
        username=user,
        password=password,
        **kw,
    )


class Node:
    """A runspace pool on the twin; ``run`` invokes one cmdlet and returns the PowerShell object."""

    def __init__(self, twin: RunningTwin, wsman: WSMan | None = None, **kw: Any) -> None:
        self.twin = twin
        self.pool = RunspacePool(wsman or https_wsman(twin, **kw))
        self.pool.open()

    def run(self, cmdlet: str, *switches: str, **params: Any) -> PowerShell:
        ps = PowerShell(self.pool)
        ps.add_cmdlet(cmdlet)
        for name, value in params.items():
            ps.add_parameter(name, value)
        for name in switches:
            ps.add_parameter(name)
        ps.invoke()
        return ps

    def close(self) -> None:
        try:
            self.pool.close()
        except WSManFaultError:  # the shell is already gone (a reboot): as with Windows
            pass


def ps_props(obj: Any) -> dict[str, Any]:
    return {**(obj.adapted_properties or {}), **(obj.extended_properties or {})}


def ps_errors(ps: PowerShell) -> list[tuple[str, str, str]]:
    return [(e.fq_error, e.message, str(e)) for e in ps.streams.error]


def http_wsman(
    twin: RunningTwin,
    auth: str = "ntlm",
    user: str = "automation",
    password: str = "automation-pass",  # noqa: S107 - the twin's seeded test user
    **kw: Any,
) -> WSMan:
    assert twin.tls is None
    return WSMan("127.0.0.1", port=twin.port, ssl=False, auth=auth, username=user, password=password, **kw)


def node_admin(twin: RunningTwin, method: str, path: str, body: Any = None) -> Any:
    return twin.admin()._call(method, f"nodes/{path}", body)
