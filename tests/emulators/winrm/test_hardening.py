"""IKEv2 hardening on the WinRM twin, through pypsrp: the node's Windows build in the registry, the
LocalMachine\\Root store (Get-Item, Get-ChildItem), Get-/Set-VpnAuthProtocol and the provider's fixed
root-certificate script, and netsh's ikev2connection context as a native application."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from emulators.common import RunningTwin, TLSMaterial, start_twin
from emulators.winrm.cmdlets.vpnauth import RESTART_WARNING, ROOT_CERTIFICATE_SCRIPT
from providers.rras.hardening import SET_ROOT_SCRIPT
from tests.emulators.winrm.client import IKEV2, ps_errors, ps_props

CURRENT_VERSION = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
REG_IKEV2 = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"


@pytest.fixture
def old_twin(tls: TLSMaterial) -> Iterator[RunningTwin]:
    running = start_twin("winrm", tls=tls, hostname="rras-2016", os_build=14393)
    yield running
    running.stop()


class Console:
    """Someone at the node's PowerShell prompt, over NTLM/HTTPS: each call one pipeline."""

    def __init__(self, twin: RunningTwin) -> None:
        assert twin.tls is not None
        wsman = WSMan(
            "127.0.0.1",
            port=twin.port,
            ssl=True,
            auth="ntlm",
            cert_validation=str(twin.tls.ca_path),
            username="automation",
            password="automation-pass",
        )
        self.pool = RunspacePool(wsman)
        self.pool.open()

    def run(self, *commands: tuple[str, dict[str, Any]], script: str | None = None, **params: Any) -> Any:
        """A pipeline of cmdlets (name, parameters; a value None is a switch unless in ``params``), or the
        script ``script`` with ``params`` bound."""
        ps = PowerShell(self.pool)
        if script is not None:
            ps.add_script(script)
            for name, value in params.items():
                ps.add_parameter(name, value)
        for cmdlet, parameters in commands:
            ps.add_cmdlet(cmdlet)
            for name, value in parameters.items():
                ps.add_parameter(name, value)
        ps.invoke()
        return ps

    def native(self, application: str, *argv: str) -> Any:
        ps = PowerShell(self.pool)
        ps.add_cmdlet(application)
        for arg in argv:
            ps.add_argument(arg)
        ps.invoke()
        return ps

    def close(self) -> None:
        self.pool.close()


@pytest.fixture
def console(twin: RunningTwin) -> Iterator[Console]:
    c = Console(twin)
    yield c
    c.close()


def thumbprints(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [ps_props(item)["Thumbprint"] for item in items]


def test_the_windows_build_is_where_windows_keeps_it(old_twin: RunningTwin) -> None:
    c = Console(old_twin)
    try:
        ps = c.run(("Get-ItemProperty", {"Path": CURRENT_VERSION, "Name": "CurrentBuildNumber"}))
        assert not ps.streams.error
        assert ps_props(ps.output[0])["CurrentBuildNumber"] == "14393"  # REG_SZ, as Windows keeps it
    finally:
        c.close()


def test_the_root_store_answers_get_item_and_get_child_item(twin: RunningTwin, console: Console) -> None:
    thumbprint = twin.backend.add_root_certificate(subject="CN=Contoso Root CA, O=Contoso")
    path = "Cert:\\LocalMachine\\Root\\" + thumbprint

    found = console.run(("Get-Item", {"LiteralPath": path}))
    assert not found.streams.error
    (cert,) = found.output
    props = ps_props(cert)
    assert props["Thumbprint"] == thumbprint and props["Subject"] == "CN=Contoso Root CA, O=Contoso"
    assert props["PSChildName"] == thumbprint and props["PSIsContainer"] is False
    assert props["PSPath"] == "Microsoft.PowerShell.Security\\Certificate::LocalMachine\\Root\\" + thumbprint
    assert isinstance(props["RawData"], bytes) and len(props["RawData"]) > 100
    assert cert.types[0].endswith("System.Security.Cryptography.X509Certificates.X509Certificate2")
    assert f"[Thumbprint]\n  {thumbprint}" in str(cert).replace("\r\n", "\n")  # X509Certificate2.ToString()
    # the provider's spellings: lower-case drive and store, no backslash after the drive
    assert thumbprints(console.run(("Get-Item", {"Path": f"cert:LocalMachine\\root\\{thumbprint}"})).output)

    listed = console.run(("Get-ChildItem", {"Path": "Cert:\\LocalMachine\\Root"}))
    assert [ps_props(o)["Thumbprint"] for o in listed.output] == [thumbprint]

    missing = "Cert:\\LocalMachine\\Root\\" + "0" * 40
    absent = console.run(("Get-Item", {"LiteralPath": missing}))
    ((fqid, category, text),) = ps_errors(absent)
    assert fqid == "PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand"
    assert (
        category.startswith("ObjectNotFound:")
        and text == f"Cannot find path '{missing}' because it does not exist."
    )
    assert absent.output == [] and not absent.had_errors  # non-terminating
    quiet = console.run(("Get-Item", {"LiteralPath": missing, "ErrorAction": "SilentlyContinue"}))
    assert quiet.output == [] and not quiet.streams.error
    wildcard = console.run(("Get-Item", {"Path": "Cert:\\LocalMachine\\Root\\FFFF*"}))
    assert wildcard.output == [] and not wildcard.streams.error  # a wildcard matching nothing is no error


def test_the_fixed_script_sets_the_accepted_root_effective_at_restart(
    twin: RunningTwin, console: Console
) -> None:
    assert SET_ROOT_SCRIPT == ROOT_CERTIFICATE_SCRIPT  # the text the provider sends is the one the twin knows
    before = console.run(("Get-VpnAuthProtocol", {}))
    props = ps_props(before.output[0])
    assert props["UserAuthProtocolAccepted"] == ["EAP", "MsChapv2"]
    assert (
        props["TunnelAuthProtocolsAdvertised"] == "Certificates"
        and props["RootCertificateNameToAccept"] is None
    )

    root = twin.backend.add_root_certificate(subject="CN=Contoso Root CA")
    other = twin.backend.add_root_certificate(subject="CN=Fabrikam Root CA")
    ps = console.run(script=SET_ROOT_SCRIPT, Thumbprint=root)
    assert not ps.had_errors and not ps.streams.error
    assert [w.message for w in ps.streams.warning] == [RESTART_WARNING]
    assert thumbprints(ps_props(ps.output[0])["RootCertificateNameToAccept"]) == [root]  # -PassThru
    got = ps_props(console.run(("Get-VpnAuthProtocol", {})).output[0])
    assert thumbprints(got["RootCertificateNameToAccept"]) == [root]
    state = twin.admin().state()["runtime"]
    assert "RemoteAccess" in state["pending_restart"]
    console.run(("Restart-Service", {"Name": "RemoteAccess", "Force": None}))
    effective = twin.admin().state()["runtime"]["effective"]["RemoteAccess"]["vpn_auth"]
    assert effective["RootCertificateNameToAccept"]["thumbprint"] == root

    # a thumbprint not in the store ends the script at Get-Item (-ErrorAction Stop): nothing changes
    failed = console.run(script=SET_ROOT_SCRIPT, Thumbprint="A" * 40)
    assert failed.had_errors
    assert twin.backend.vpn_auth()["RootCertificateNameToAccept"]["thumbprint"] == root
    invalid = console.run(script=SET_ROOT_SCRIPT, Thumbprint="not-a-thumbprint")
    assert invalid.had_errors  # the param() block's ValidatePattern
    refused = console.run(script=SET_ROOT_SCRIPT + "\nRestart-Service RemoteAccess", Thumbprint=root)
    assert refused.had_errors  # any other text is a script the twin does not run

    # kept by name: a renewed root of the same name is reported too (old certificates in the store)
    renewed = twin.backend.add_root_certificate(subject="CN=Contoso Root CA")
    got = ps_props(console.run(("Get-VpnAuthProtocol", {})).output[0])
    assert sorted(thumbprints(got["RootCertificateNameToAccept"])) == sorted([root, renewed])
    assert other not in thumbprints(got["RootCertificateNameToAccept"])

    # someone clears it (Richard Hicks' -Clear): Set-VpnAuthProtocol -RootCertificateNameToAccept $null
    cleared = console.run(("Set-VpnAuthProtocol", {"RootCertificateNameToAccept": None}))
    assert not cleared.streams.error
    assert ps_props(console.run(("Get-VpnAuthProtocol", {})).output[0])["RootCertificateNameToAccept"] is None
    wrong = console.run(("Set-VpnAuthProtocol", {"UserAuthProtocolAccepted": ["Certificate", "Kerberos"]}))
    assert wrong.had_errors
    assert ps_errors(wrong)[0][0] == "ParameterArgumentValidationError,Set-VpnAuthProtocol"


def test_netsh_shows_and_sets_the_ikev2_connection_timeouts(twin: RunningTwin, console: Console) -> None:
    shown = console.native("netsh", "ras", "show", "ikev2connection")
    text = "\n".join(str(line) for line in shown.output)
    assert "Idle time-out (minutes)" in text and ": 5" in text and ": 30" in text
    assert twin.backend.last_exit_code == 0

    ps = console.native("netsh.exe", "ras", "set", "ikev2connection", "idletimeout=10", "NWOUTAGETIME=2")
    assert ps.output == [] and not ps.streams.error and twin.backend.last_exit_code == 0
    values = twin.admin().state()["running"]["registry"][REG_IKEV2]
    assert values["idleTimeout"] == {"kind": "DWord", "value": 600}  # seconds, as MS-RRASM says
    assert values["networkBlackoutTime"] == {"kind": "DWord", "value": 120}
    assert "RemoteAccess" in twin.admin().state()["runtime"]["pending_restart"]

    # the registry and netsh are one setting: a value written there is what netsh shows
    console.run(
        (
            "New-ItemProperty",
            {"Path": IKEV2, "Name": "idleTimeout", "Value": 1200, "PropertyType": "DWord", "Force": None},
        )
    )
    shown = "\n".join(str(x) for x in console.native("netsh", "ras", "show", "ikev2connection").output)
    assert ": 20" in shown and ": 2" in shown

    # netsh's own text and an exit code, never an error record
    refused = console.native("netsh", "ras", "set", "ikev2connection", "idletimeout=3")
    assert str(refused.output[0]) == "The parameter is incorrect."
    assert not refused.streams.error and not refused.had_errors and twin.backend.last_exit_code == 1
    unknown = console.native("netsh", "ras", "set", "ikev2thing", "idletimeout=5")
    assert str(unknown.output[0]) == "The following command was not found: ras set ikev2thing idletimeout=5."
    empty = console.native("netsh", "ras", "set", "ikev2connection")
    assert str(empty.output[0]) == "One or more essential parameters were not entered."
    assert twin.admin().state()["running"]["registry"][REG_IKEV2]["idleTimeout"]["value"] == 1200


def test_the_request_log_counts_the_script_and_netsh_as_writes(twin: RunningTwin, console: Console) -> None:
    root = twin.backend.add_root_certificate(subject="CN=Logged Root")
    seq = twin.admin().log()[-1]["seq"]
    console.run(("Get-VpnAuthProtocol", {}))
    console.run(script=SET_ROOT_SCRIPT, Thumbprint=root)
    console.native("netsh", "ras", "set", "ikev2connection", "idletimeout=6")
    logged = [(e["cmdlet"], e["write"]) for e in twin.admin().log(since=seq) if e.get("cmdlet")]
    assert logged == [
        ("Get-VpnAuthProtocol", False),
        ("Set-VpnAuthProtocol (root certificate script)", True),
        ("netsh", True),
    ]
