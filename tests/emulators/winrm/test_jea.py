"""The WinRM twin as a JEA endpoint (emulators/winrm/jea.py), through pypsrp: a node serving the shipped
jea/AovpnRras.pssc next to Microsoft.PowerShell. What the role allows runs; anything else is refused with the
records a restricted (NoLanguage) Windows session gives (docs/rras.md#just-enough-administration)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

from emulators.common import RunningTwin, TLSMaterial, start_twin
from providers.rras.hardening import SET_ROOT_SCRIPT
from tests.emulators.winrm.client import IKEV2, https_wsman, ps_errors, ps_props

CONFIGURATION = "AovpnRras"
NOT_RECOGNIZED = "The term '{}' is not recognized as the name of a cmdlet, function, script file, or operable"


@pytest.fixture
def jea_twin(tls: TLSMaterial) -> Iterator[RunningTwin]:
    running = start_twin("winrm", tls=tls, allow_basic=True, jea_configuration=CONFIGURATION)
    yield running
    running.stop()


class Session:
    """A runspace pool on a session configuration; ``run`` one command (a value None is a switch)."""

    def __init__(self, twin: RunningTwin, configuration: str | None = CONFIGURATION, **kw: Any) -> None:
        extra = {"configuration_name": configuration} if configuration else {}
        self.pool = RunspacePool(https_wsman(twin, **kw), **extra)
        self.pool.open()

    def run(self, cmdlet: str, **params: Any) -> PowerShell:
        ps = PowerShell(self.pool)
        ps.add_cmdlet(cmdlet)
        for name, value in params.items():
            ps.add_parameter(name, value)
        ps.invoke()
        return ps

    def script(self, text: str, **params: Any) -> PowerShell:
        ps = PowerShell(self.pool)
        ps.add_script(text)
        for name, value in params.items():
            ps.add_parameter(name, value)
        ps.invoke()
        return ps

    def close(self) -> None:
        self.pool.close()


@pytest.fixture
def session(jea_twin: RunningTwin) -> Iterator[Session]:
    s = Session(jea_twin)
    yield s
    s.close()


def only_error(ps: PowerShell) -> tuple[str, str, str]:
    assert ps.had_errors
    (error,) = ps_errors(ps)
    return error


def test_the_commands_of_the_role_work(jea_twin: RunningTwin, session: Session) -> None:
    wrote = session.run(
        "New-ItemProperty",
        Path=IKEV2,
        Name="EnableServerFragmentation",
        Value=1,
        PropertyType="DWord",
        Force=None,
    )
    assert not wrote.had_errors and not wrote.streams.error
    read = session.run("Get-ItemProperty", Path=IKEV2)
    assert ps_props(read.output[0])["EnableServerFragmentation"] == 1
    policy = session.run("Get-VpnServerConfiguration", TunnelType="IKEv2")
    assert not policy.had_errors and policy.output
    restarted = session.run("Restart-Service", Name="RemoteAccess", Force=None)
    assert not restarted.had_errors and not restarted.streams.error
    status = session.run("Get-Service", Name="RemoteAccess")
    assert str(ps_props(status.output[0])["Status"]) == "Running"
    # common parameters are always allowed (Microsoft Learn, JEA Role Capabilities)
    absent = session.run(
        "Get-Item", LiteralPath="Cert:\\LocalMachine\\Root\\" + "A" * 40, ErrorAction="Ignore"
    )
    assert not absent.had_errors and absent.output == []
    # Get-Command shows what the session allows: the role's commands and the defaults the twin answers
    names = {str(ps_props(c)["Name"]) for c in session.run("Get-Command").output}
    assert {"Get-ItemProperty", "Restart-Service", "Set-AovpnAcceptedRoot", "Get-Command"} <= names
    assert "Set-VpnAuthProtocol" not in names and "Stop-Service" not in names


def test_the_role_function_sets_the_accepted_root_the_script_cannot(
    jea_twin: RunningTwin, session: Session
) -> None:
    root = jea_twin.backend.add_root_certificate(subject="CN=Contoso Root CA")
    refused = session.script(SET_ROOT_SCRIPT, Thumbprint=root)  # the fixed script: language, refused
    fqid, _, text = only_error(refused)
    assert fqid == "ScriptsNotAllowed"
    assert "The syntax is not supported by this runspace" in text
    assert jea_twin.backend.vpn_auth()["RootCertificateNameToAccept"] is None

    done = session.run("Set-AovpnAcceptedRoot", Thumbprint=root)
    assert not done.had_errors and not done.streams.error
    assert jea_twin.backend.vpn_auth()["RootCertificateNameToAccept"]["thumbprint"] == root
    invalid = session.run("Set-AovpnAcceptedRoot", Thumbprint="not-a-thumbprint")
    assert invalid.had_errors  # the function's own ValidatePattern
    assert jea_twin.backend.vpn_auth()["RootCertificateNameToAccept"]["thumbprint"] == root
    cleared = session.run("Clear-AovpnAcceptedRoot")
    assert not cleared.had_errors
    assert jea_twin.backend.vpn_auth()["RootCertificateNameToAccept"] is None
    # what the functions use is not visible by itself
    fqid, _, text = only_error(session.run("Set-VpnAuthProtocol", RootCertificateNameToAccept=None))
    assert fqid == "CommandNotFoundException" and text.startswith(
        NOT_RECOGNIZED.format("Set-VpnAuthProtocol")
    )


def test_a_command_outside_the_role_is_not_recognized(jea_twin: RunningTwin, session: Session) -> None:
    for command, params in (
        ("Stop-Service", {"Name": "RemoteAccess"}),
        ("Set-ItemProperty", {"Path": IKEV2, "Name": "CertAuthFlags", "Value": 4}),
        ("Out-Null", {}),
    ):
        fqid, _, text = only_error(session.run(command, **params))
        assert fqid == "CommandNotFoundException"
        assert text.startswith(NOT_RECOGNIZED.format(command))
    assert jea_twin.backend.runtime_state()["services"]["RemoteAccess"]["start_count"] == 1  # never stopped


def test_a_registry_path_or_value_name_outside_the_role_fails_validation(
    jea_twin: RunningTwin, session: Session
) -> None:
    winlogon = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon"
    fqid, category, text = only_error(
        session.run(
            "New-ItemProperty", Path=winlogon, Name="Enabled", Value=0, PropertyType="DWord", Force=None
        )
    )
    assert fqid == "ParameterArgumentValidationError,New-ItemProperty"
    assert text.startswith(
        f"Cannot validate argument on parameter 'Path'. The argument \"{winlogon}\" does not belong to the "
    )
    assert "specified by the ValidateSet attribute" in text
    assert category.startswith("InvalidData")
    bad_name = session.run("Remove-ItemProperty", Path=IKEV2, Name="Shell")
    assert only_error(bad_name)[2].startswith(
        "Cannot validate argument on parameter 'Name'. The argument \"Shell\""
    )
    # a parameter the role does not list is not a parameter of the command at all
    fqid, _, text = only_error(session.run("Get-ItemProperty", LiteralPath=IKEV2))
    assert fqid == "NamedParameterNotFound,Get-ItemProperty"
    assert text == "A parameter cannot be found that matches parameter name 'LiteralPath'."
    # the certificate look-up is a pattern: only a thumbprint under LocalMachine\Root
    my = "Cert:\\LocalMachine\\My\\" + "A" * 40
    fqid, _, text = only_error(session.run("Get-Item", LiteralPath=my))
    assert fqid == "ParameterArgumentValidationError,Get-Item"
    assert f'The argument "{my}" does not match the "^Cert:' in text
    # nothing was written
    assert "Winlogon" not in str(jea_twin.admin().state())


def test_a_service_outside_the_set_fails_and_nothing_restarts(
    jea_twin: RunningTwin, session: Session
) -> None:
    before = jea_twin.backend.runtime_state()["services"]
    fqid, _, text = only_error(session.run("Restart-Service", Name="Spooler", Force=None))
    assert fqid == "ParameterArgumentValidationError,Restart-Service"
    assert text == (
        "Cannot validate argument on parameter 'Name'. The argument \"Spooler\" does not belong to the set "
        '"IKEEXT,RemoteAccess" specified by the ValidateSet attribute. Supply an argument that is in the set '
        "and then try the command again."
    )
    assert only_error(session.run("Restart-Service", Name="SstpSvc"))[0].startswith("ParameterArgument")
    assert jea_twin.backend.runtime_state()["services"] == before


def test_any_script_is_refused_in_no_language_mode(session: Session) -> None:
    for text in ("$PSVersionTable", "Get-Service -Name (Get-Content C:\\x)", "Restart-Computer; whoami"):
        fqid, category, message = only_error(session.script(text))
        assert fqid == "ScriptsNotAllowed"
        assert message == (
            "The syntax is not supported by this runspace. This might be because it is in no-language mode."
        )
        assert category.startswith("ParserError")


def test_the_default_configuration_is_unchanged_and_an_unknown_one_is_a_wsman_fault(
    jea_twin: RunningTwin,
) -> None:
    full = Session(jea_twin, configuration=None)
    try:
        assert not full.run("Get-ItemProperty", LiteralPath=IKEV2).had_errors  # hidden in the JEA session
        assert not full.run("Out-Null").had_errors
        ps = full.script(SET_ROOT_SCRIPT, Thumbprint=jea_twin.backend.add_root_certificate())
        assert not ps.had_errors  # the fixed script runs in a full-language session
    finally:
        full.close()
    with pytest.raises(WSManFaultError) as info:
        Session(jea_twin, configuration="Contoso.Dns")
    assert info.value.code == 2150858770
    assert "Cannot find the Contoso.Dns session configuration" in str(info.value)


def test_a_user_outside_the_role_groups_is_denied(tls: TLSMaterial) -> None:
    twin = start_twin(
        "winrm", tls=tls, allow_basic=True, jea_configuration=CONFIGURATION, jea_users=["automation"]
    )
    try:
        with pytest.raises(WSManFaultError) as info:
            Session(twin)  # Administrator: not in the RoleDefinitions group
        assert "Access is denied" in str(info.value)
        member = Session(twin, user="automation", password="automation-pass")
        assert not member.run("Get-RemoteAccess").had_errors
        member.close()
    finally:
        twin.stop()


def test_a_narrowed_role_hides_the_command(jea_twin: RunningTwin, session: Session) -> None:
    summary = jea_twin.admin()._call(
        "PUT", "jea", {"configuration": CONFIGURATION, "hide": ["Restart-Service"]}
    )
    assert summary["hidden"] == ["Restart-Service"] and "Restart-Service" not in summary["visible"]
    fqid, _, _ = only_error(session.run("Restart-Service", Name="RemoteAccess", Force=None))
    assert fqid == "CommandNotFoundException"
    jea_twin.admin()._call("PUT", "jea", {"configuration": CONFIGURATION, "reset": True})
    assert not session.run("Restart-Service", Name="RemoteAccess", Force=None).had_errors
