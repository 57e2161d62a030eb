"""The RRAS adapter's session (providers/rras/session.py): Basic disabled on the node, Kerberos that cannot
work named per node before any request, the SPN pypsrp is given for Negotiate/Kerberos, and a pooled
session whose shell the node closed: reopened once when the command cannot have run (or only reads),
reported - not sent again - when a write may have run."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.common import RunningTwin, TLSMaterial, start_twin
from emulators.winrm.wsman import WinRMApp, _invalid_shell
from providers.common.errors import ConfigurationError
from providers.rras.session import (
    IDLE_TIMEOUT,
    SHELL_NOT_FOUND,
    NodeConnection,
    NodeSession,
    RrasConnectionError,
    _explain,
)

IKEV2 = r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2"
IKEV2_STORED = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
FRAGMENTATION = {"Path": IKEV2, "Name": "EnableServerFragmentation", "Value": 1, "PropertyType": "DWord"}


@pytest.fixture
def node_twin(tls: TLSMaterial) -> Iterator[RunningTwin]:
    """A node with Windows' WinRM defaults (Basic off, NTLM/Negotiate on), over HTTPS."""
    running = start_twin("winrm", tls=tls)
    yield running
    running.stop()


def connection(twin: RunningTwin, auth: str = "ntlm", **device: Any) -> NodeConnection:
    assert twin.tls is not None
    return NodeConnection.from_device(
        "rras1",
        {
            "url": f"https://127.0.0.1:{twin.port}/wsman",
            "user": "automation",
            "password_key": "rrasPassword",
            "auth": auth,
            "ca_bundle": str(twin.tls.ca_path),
            **device,
        },
    )


def soap(twin: RunningTwin) -> list[dict[str, Any]]:
    return [e for e in twin.admin().log() if e.get("wsman")]


def fragmentation(twin: RunningTwin) -> Any:
    return twin.admin().state()["running"]["registry"][IKEV2_STORED].get("EnableServerFragmentation")


# --- authentication ------------------------------------------------------------------------------------


def test_basic_disabled_on_the_node_is_named_with_the_way_out(node_twin: RunningTwin) -> None:
    session = NodeSession(connection(node_twin, "basic"), "automation-pass")
    with pytest.raises(RrasConnectionError) as info:
        session.invoke("Get-Service", {"Name": "RemoteAccess"})
    assert str(info.value) == (
        f"node rras1: Basic authentication is disabled on the WinRM service at https://127.0.0.1:"
        f"{node_twin.port}/wsman (it offers Negotiate, Kerberos): enable it on the node (Set-Item "
        "WSMan:\\localhost\\Service\\Auth\\Basic $true) or declare auth: ntlm, negotiate or kerberos"
    )
    assert "automation-pass" not in str(info.value)


def test_a_wrong_basic_password_is_still_a_credentials_error(tls: TLSMaterial) -> None:
    twin = start_twin("winrm", tls=tls, allow_basic=True)
    try:
        session = NodeSession(connection(twin, "basic"), "wrong-pass")
        with pytest.raises(RrasConnectionError) as info:
            session.invoke("Get-Service", {"Name": "RemoteAccess"})
        assert "refused the credentials of 'automation' (basic): check the secret 'rrasPassword'" in str(
            info.value
        )
    finally:
        twin.stop()


def test_kerberos_without_the_library_fails_by_node_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gssapi" else real(name, *a)
    )
    conn = NodeConnection.from_device(
        "rras1",
        {
            # nothing listens there: a request would fail differently
            "url": "https://rras1.corp.example:1/wsman",
            "user": "svc@CORP.EXAMPLE",
            "password_key": "rrasPassword",
            "auth": "kerberos",
        },
    )
    with pytest.raises(RrasConnectionError) as info:
        NodeSession(conn, "pw").invoke("Get-Service", {"Name": "RemoteAccess"})
    text = str(info.value)
    assert text.startswith("node rras1: Kerberos is not available on this machine for https://rras1.corp.")
    assert "the Python gssapi library with krb5 support is missing (install pyspnego[kerberos]" in text
    assert "declare auth: negotiate (which falls back to NTLM) or ntlm" in text


def test_kerberos_by_ip_address_needs_the_kerberos_hostname() -> None:
    device = {"url": "https://192.0.2.5/wsman", "user": "svc", "password_key": "k", "auth": "kerberos"}
    with pytest.raises(ConfigurationError) as info:
        NodeSession(NodeConnection.from_device("rras2", device), "pw").invoke("Get-Service")
    assert str(info.value) == (
        "node rras2: Kerberos needs the node's DNS name for its service principal HTTP/<name>, but the "
        "endpoint names it by IP address 192.0.2.5: set management.kerberosHostname, or declare auth: "
        "negotiate (which falls back to NTLM)"
    )


def test_negotiate_and_kerberos_name_the_http_principal_of_the_kerberos_hostname() -> None:
    device = {"url": "http://192.0.2.5:5985/wsman", "user": "svc", "password_key": "k"}
    nego = NodeConnection.from_device(
        "rras1", {**device, "auth": "negotiate", "kerberos_hostname": "rras1.lab"}
    )
    kwargs = nego.wsman_kwargs("pw")
    assert (kwargs["negotiate_service"], kwargs["negotiate_hostname_override"]) == ("HTTP", "rras1.lab")
    assert nego.spn == "HTTP/rras1.lab"
    kerberos = NodeConnection.from_device(
        "rras1", {**device, "url": "https://rras1.lab/wsman", "auth": "kerberos"}
    )
    assert kerberos.wsman_kwargs("pw")["negotiate_service"] == "HTTP"
    assert "negotiate_hostname_override" not in kerberos.wsman_kwargs("pw")
    assert kerberos.spn == "HTTP/rras1.lab"
    ntlm = NodeConnection.from_device("rras1", {**device, "auth": "ntlm"})
    assert not {k for k in ntlm.wsman_kwargs("pw") if k.startswith("negotiate_")}


@pytest.mark.parametrize(
    ("gss_error", "wanted"),
    [
        (
            "SpnegoError (1): Major (851968): Unspecified GSS failure, Minor (2529638919): "
            "Server not found in Kerberos database",
            "the Kerberos realm has no service principal HTTP/rras1.lab: set management.kerberosHostname",
        ),
        (
            "SpnegoError (1): Major (458752): No credentials were supplied, or the credentials were "
            "unavailable or inaccessible, Minor (2529639053): No Kerberos credentials available "
            "(default cache: FILE:/tmp/x)",
            "no Kerberos ticket for 'svc@LAB' to reach https://rras1.lab/wsman",
        ),
        (
            "SpnegoError (1): Major (851968): Unspecified GSS failure, Minor (2529639068): "
            'Cannot find KDC for realm "LAB"',
            "(check krb5.conf: default_realm and the realm's kdc) and no ticket is cached (kinit svc@LAB)",
        ),
    ],
)
def test_kerberos_failures_say_what_is_missing(gss_error: str, wanted: str) -> None:
    conn = NodeConnection("rras1", "https://rras1.lab/wsman", "svc@LAB", "k", "kerberos", None)
    text = _explain(conn, Exception(gss_error), "pw")
    assert wanted in text, text
    assert "refused the credentials" not in text


# --- idle shells ---------------------------------------------------------------------------------------


def test_a_shell_the_node_closed_while_idle_is_reopened_once_and_the_write_sent_once(
    node_twin: RunningTwin,
) -> None:
    session = NodeSession(connection(node_twin), "automation-pass")
    try:
        session.invoke("Get-Service", {"Name": "RemoteAccess"})
        create = next(e for e in soap(node_twin) if e["wsman"] == "Create")
        assert create["idle_timeout"] == IDLE_TIMEOUT  # the pool asks for its IdleTimeOut
        closed = node_twin.admin()._call("POST", "clock", {"advance": IDLE_TIMEOUT + 1})["closed_shells"]
        assert len(closed) == 1
        seq = node_twin.admin().log()[-1]["seq"]

        session.invoke("New-ItemProperty", FRAGMENTATION)

        assert session.reopens == 1
        after = [e for e in soap(node_twin) if e["seq"] > seq]
        # the Command on the closed shell was refused (nothing ran), then a new pool and the command once
        assert (after[0]["wsman"], after[0]["fault"], after[0]["shell"]) == (
            "Command",
            SHELL_NOT_FOUND,
            closed[0],
        )
        assert "Create" in [e["wsman"] for e in after[1:]]
        assert [e["cmdlet"] for e in after if e.get("cmdlet")] == ["New-ItemProperty"]
        assert fragmentation(node_twin) == {"kind": "DWord", "value": 1}
    finally:
        session.close()


def _shell_vanishes_after_next_request(node_twin: RunningTwin) -> None:
    """The request after the next one on the session's shell is answered as by a node that closed it."""
    shell = next(e for e in soap(node_twin) if e["wsman"] == "Create")["shell"]
    gone = WinRMApp(node_twin.backend)._fault_xml(_invalid_shell(shell), "uuid:0").decode()
    node_twin.admin().add_fault(
        path="/wsman$",
        action="status",
        status=500,
        body=gone,
        content_type="application/soap+xml;charset=UTF-8",
        skip=1,
    )


def test_a_write_the_shell_vanished_under_is_reported_not_sent_again(node_twin: RunningTwin) -> None:
    session = NodeSession(connection(node_twin), "automation-pass")
    try:
        session.invoke("Get-Service", {"Name": "RemoteAccess"})
        # the Command is carried out; its Receive answers that the shell no longer exists
        _shell_vanishes_after_next_request(node_twin)
        seq = node_twin.admin().log()[-1]["seq"]

        with pytest.raises(RrasConnectionError) as info:
            session.invoke("New-ItemProperty", FRAGMENTATION)

        text = str(info.value)
        assert text.startswith("node rras1: WinRM at https://127.0.0.1:")
        assert (
            "closed the PowerShell session (its shell no longer exists: idle timeout, reboot or WinRM" in text
        )
        assert "while New-ItemProperty -Path " in text
        assert "it may have run, so it was not sent again; run the operation again to converge" in text
        assert session.reopens == 0
        after = [e for e in node_twin.admin().log() if e["seq"] > seq]
        assert [e.get("cmdlet") for e in after if e.get("cmdlet")] == ["New-ItemProperty"]  # sent once
        assert "Create" not in [e.get("wsman") for e in after]
        assert fragmentation(node_twin) == {"kind": "DWord", "value": 1}  # it had run
        # the next command gets a fresh pool
        session.invoke("Get-Service", {"Name": "IKEEXT"})
        assert session.reopens == 0 and "Create" in [
            e.get("wsman") for e in soap(node_twin) if e["seq"] > seq
        ]
    finally:
        session.close()


def test_a_read_the_shell_vanished_under_is_read_again(node_twin: RunningTwin) -> None:
    session = NodeSession(connection(node_twin), "automation-pass")
    try:
        session.invoke("Get-Service", {"Name": "RemoteAccess"})
        _shell_vanishes_after_next_request(node_twin)
        (service,) = session.invoke("Get-Service", {"Name": "IKEEXT"})
        assert session.reopens == 1
        assert "IKEEXT" in str(service.adapted_properties.get("Name") or service)
    finally:
        session.close()


def test_a_reboot_between_commands_is_survived(node_twin: RunningTwin) -> None:
    session = NodeSession(connection(node_twin, "negotiate"), "automation-pass")
    try:
        session.invoke("Get-Service", {"Name": "RemoteAccess"})
        node_twin.admin().reboot()
        session.invoke("New-ItemProperty", FRAGMENTATION)
        assert session.reopens == 1 and session.commands == 2
        assert [e.get("cmdlet") for e in node_twin.admin().log() if e.get("cmdlet")] == [
            "Get-Service",
            "New-ItemProperty",
        ]
    finally:
        session.close()
