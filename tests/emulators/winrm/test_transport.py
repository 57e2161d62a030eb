"""The WinRM twin's transport and authentication, driven by the real pypsrp client.

Basic off by default and on when asked, a reboot dropping the PSRP shell, idle shells closed after their
IdleTimeOut (the twin's clock advanced, never slept); NTLM/Negotiate with message encryption over plain
HTTP, Negotiate by IP address with a hostname override, NTLM over HTTPS, the AllowUnencrypted=false policy
and concurrent authenticated connections.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import WSMan

from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.emulators.winrm.client import BASELINE, SSTP, Node, http_wsman, https_wsman, ps_props

SHELL_NOT_FOUND = 2150858843


@pytest.fixture
def twin(tls: TLSMaterial) -> Iterator[RunningTwin]:
    """This module's HTTPS twin has Basic enabled (Windows: Auth/Basic=true), for the Basic tests."""
    running = start_twin("winrm", tls=tls, allow_basic=True)
    yield running
    running.stop()


@pytest.fixture
def windows_default(tls: TLSMaterial) -> Iterator[RunningTwin]:
    """An HTTPS twin with Windows' defaults: Basic off."""
    running = start_twin("winrm", tls=tls)
    yield running
    running.stop()


def ntlm_https(twin: RunningTwin, **kw: Any) -> WSMan:
    assert twin.tls is not None
    return WSMan(
        "127.0.0.1",
        port=twin.port,
        ssl=True,
        auth=kw.pop("auth", "ntlm"),
        cert_validation=str(twin.tls.ca_path),
        username="automation",
        password="automation-pass",
        **kw,
    )


def advance(twin: RunningTwin, seconds: float) -> list[str]:
    closed: list[str] = twin.admin()._call("POST", "clock", {"advance": seconds})["closed_shells"]
    return closed


def test_basic_is_off_by_default_as_on_windows(windows_default: RunningTwin) -> None:
    with pytest.raises(AuthenticationError):
        RunspacePool(https_wsman(windows_default, user="automation", password="automation-pass")).open()
    # What Windows answers a Basic request with Auth/Basic=false: 401, no body, offering the schemes it has
    assert windows_default.tls is not None
    token = base64.b64encode(b"automation:automation-pass").decode()
    answer = requests.post(
        f"{windows_default.url}/wsman",
        data=b"",
        headers={"Authorization": f"Basic {token}"},
        verify=str(windows_default.tls.ca_path),
        timeout=10,
    )
    assert answer.status_code == 401 and answer.content == b""
    assert answer.headers["WWW-Authenticate"] == "Negotiate, Kerberos"
    assert answer.headers["Server"] == "Microsoft-HTTPAPI/2.0"
    log = windows_default.admin().log()
    assert {e["status"] for e in log} == {401}
    assert {e.get("auth_refused") for e in log} == {"basic disabled (Auth/Basic=false)"}
    assert windows_default.backend.runtime_state()["shells"] == 0
    # NTLM is on by default
    node = Node(windows_default, ntlm_https(windows_default))
    assert not node.run("Get-Service", Name="RemoteAccess").had_errors
    node.close()


def test_basic_works_when_enabled(twin: RunningTwin) -> None:
    assert twin.tls is not None
    offered = requests.post(f"{twin.url}/wsman", data=b"", verify=str(twin.tls.ca_path), timeout=10)
    assert offered.headers["WWW-Authenticate"] == 'Negotiate, Kerberos, Basic realm="WSMAN"'
    node = Node(twin, user="automation", password="automation-pass")
    assert str(ps_props(node.run("Get-Service", Name="IKEEXT").output[0])["Status"]) == "Running"
    node.close()
    assert {e.get("auth") for e in twin.admin().log() if e.get("wsman")} == {"basic"}


def test_an_idle_shell_is_closed_after_its_idle_timeout(windows_default: RunningTwin) -> None:
    pool = RunspacePool(ntlm_https(windows_default), idle_timeout=120)
    pool.open()
    node = Node.__new__(Node)
    node.twin, node.pool = windows_default, pool
    assert pool.shell.idle_time_out == "PT120.000S"  # what the Create granted
    create = next(e for e in windows_default.admin().log() if e.get("wsman") == "Create")
    assert create["idle_timeout"] == 120.0
    assert advance(windows_default, 119) == []
    assert not node.run("Get-Service", Name="RemoteAccess").had_errors  # activity: the timer starts again
    assert advance(windows_default, 119) == []
    assert advance(windows_default, 2) == [pool.id]
    assert windows_default.backend.runtime_state()["shells"] == 0
    with pytest.raises(WSManFaultError) as info:
        node.run("Get-Service", Name="RemoteAccess")
    assert info.value.code == SHELL_NOT_FOUND
    assert f"ShellId {pool.id} failed because the shell was not found on the server" in str(info.value.reason)
    fault = windows_default.admin().log()[-1]
    assert (fault["wsman"], fault["fault"], fault["status"]) == ("Command", SHELL_NOT_FOUND, 500)
    node.close()  # the Delete of a shell that is gone faults too: tolerated, as against Windows


def test_idle_timeout_default_and_bounds(windows_default: RunningTwin) -> None:
    default = RunspacePool(ntlm_https(windows_default))  # pypsrp sends no IdleTimeOut unless asked
    default.open()
    short = RunspacePool(ntlm_https(windows_default), idle_timeout=5)
    short.open()
    # the server's IdleTimeoutMs (2 h) when none is asked for; 60 s at least
    assert (default.shell.idle_time_out, short.shell.idle_time_out) == ("PT7200.000S", "PT60.000S")
    assert advance(windows_default, 60) == [short.id]
    assert advance(windows_default, 7139) == []
    assert advance(windows_default, 1) == [default.id]
    with pytest.raises(ValueError):
        start_twin("winrm", tls=None, shell_idle_timeout=30)


def test_negotiate_by_ip_with_a_hostname_override(http_twin: RunningTwin) -> None:
    wsman = http_wsman(
        http_twin,
        auth="negotiate",
        negotiate_service="HTTP",
        negotiate_hostname_override="rras1.corp.example",
    )
    node = Node(http_twin, wsman)
    try:
        assert not node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").had_errors
        # no Kerberos here: SPNEGO negotiated NTLM, and the principal it named is the override
        context = next(iter(wsman.transport.session.auth.contexts.values()))  # type: ignore[union-attr]
        assert context.negotiated_protocol == "ntlm"
    finally:
        node.close()
    log = http_twin.admin().log()
    assert {e["spn"] for e in log if e.get("spn")} == {"HTTP/rras1.corp.example"}
    # the SPNEGO exchange (scheme Negotiate) that completed as NTLM
    assert {(e["auth_scheme"], e["auth"]) for e in log if e.get("spn")} == {("Negotiate", "ntlm")}
    # without the override the principal names the address, which no Kerberos realm has
    plain = Node(http_twin, http_wsman(http_twin, auth="negotiate", negotiate_service="HTTP"))
    plain.close()
    assert {e["spn"] for e in http_twin.admin().log() if e.get("spn")} == {
        "HTTP/rras1.corp.example",
        "HTTP/127.0.0.1",
    }


def test_a_kerberos_ticket_is_refused_without_a_kdc(http_twin: RunningTwin) -> None:
    answer = requests.post(
        f"{http_twin.url}/wsman", data=b"", headers={"Authorization": "Kerberos YIIBAA=="}, timeout=10
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Negotiate, Kerberos"
    assert http_twin.admin().log()[-1]["auth_refused"].startswith("kerberos")


def test_wrong_password_is_401(twin: RunningTwin) -> None:
    with pytest.raises(AuthenticationError):
        RunspacePool(https_wsman(twin, password="wrong")).open()
    with pytest.raises(AuthenticationError):
        RunspacePool(https_wsman(twin, user="nobody", password="admin-pass")).open()
    assert [e["status"] for e in twin.admin().log()] == [401, 401]


def test_second_user_and_pool_close(twin: RunningTwin) -> None:
    n = Node(twin, user="automation", password="automation-pass")
    assert twin.backend.runtime_state()["shells"] == 1
    n.close()
    assert twin.backend.runtime_state()["shells"] == 0
    wsman_actions = [e.get("wsman") for e in twin.admin().log()]
    assert wsman_actions[0] == "Create" and wsman_actions[-1] == "Delete"


def test_reboot_drops_the_psrp_shell(twin: RunningTwin, node: Node) -> None:
    twin.admin().reboot()
    with pytest.raises(WSManFaultError) as info:
        node.run("Get-Service", Name="RemoteAccess")
    assert info.value.code == 2150858843  # InvalidSelectors: the shell is gone
    fresh = Node(twin)
    assert str(ps_props(fresh.run("Get-Service", Name="RemoteAccess").output[0])["Status"]) == "Running"
    fresh.close()


@pytest.mark.parametrize("encryption", ["always", "auto"])
def test_ntlm_over_http_encrypts_every_message(http_twin: RunningTwin, encryption: str) -> None:
    node = Node(http_twin, http_wsman(http_twin, encryption=encryption))
    try:
        ps = node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
        assert not ps.had_errors and not ps.streams.error
        (policy,) = node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output
        assert "EncryptionMethod" in ps_props(policy)  # the answer came back through the sealed channel
    finally:
        node.close()
    log = http_twin.admin().log()
    # The empty POST runs the handshake on one kept-alive connection: 401, 401 (challenge), 200.
    assert [e["status"] for e in log[:3]] == [401, 401, 200]
    assert len({e["client_port"] for e in log}) == 1
    soap = [e for e in log if e.get("wsman")]
    assert soap and all(e.get("encrypted") and e["user"] == "automation" for e in soap)
    assert [e["cmdlet"] for e in soap if e.get("cmdlet")] == [
        "Set-VpnServerConfiguration",
        "Get-VpnServerConfiguration",
    ]
    assert http_twin.admin().state()["running"]["vpn"]["policies"]["IKEv2"]["PfsGroup"] == "PFS2048"


def test_negotiate_over_http_gets_the_final_spnego_token(http_twin: RunningTwin) -> None:
    wsman = http_wsman(http_twin, auth="negotiate", user=r"RRAS1\Administrator", password="admin-pass")
    node = Node(http_twin, wsman)
    try:
        assert str(ps_props(node.run("Get-Service", Name="RemoteAccess").output[0])["Status"]) == "Running"
        # The client's SPNEGO context completes only with the acceptor's mechListMIC, which the twin returns
        # on the 200 of the last leg (without it the first sealed message fails with a MIC error).
        context = next(iter(wsman.transport.session.auth.contexts.values()))  # type: ignore[union-attr]
        assert context.complete and context.negotiated_protocol == "ntlm"
    finally:
        node.close()
    users = {e.get("user") for e in http_twin.admin().log() if e.get("wsman")}
    assert users == {"Administrator"}


def test_ntlm_over_https_with_the_ca_bundle(tls: TLSMaterial, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    running = start_twin("winrm", tls=tls)
    try:
        for encryption, wrapped in (("auto", False), ("always", True)):
            wsman = WSMan(
                "127.0.0.1",
                port=running.port,
                ssl=True,
                auth="ntlm",
                cert_validation=str(tls.ca_path),
                username="automation",
                password="automation-pass",
                encryption=encryption,
            )
            running.admin().clear_log()
            node = Node(running, wsman)
            assert not node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").had_errors
            node.close()
            soap = [e for e in running.admin().log() if e.get("wsman")]
            assert soap and all(bool(e.get("encrypted")) is wrapped for e in soap)
            assert {e["user"] for e in soap} == {"automation"}
    finally:
        running.stop()


def test_basic_and_unencrypted_messages_are_refused_over_http(http_twin: RunningTwin) -> None:
    with pytest.raises(AuthenticationError):
        RunspacePool(http_wsman(http_twin, auth="basic", encryption="never")).open()
    offered = requests.post(f"{http_twin.url}/wsman", data=b"", timeout=10).headers["WWW-Authenticate"]
    assert "Negotiate" in offered and "Basic" not in offered

    # NTLM authenticates, but the SOAP body itself is not sealed: AllowUnencrypted=false says 500.
    with pytest.raises(WinRMTransportError) as info:
        RunspacePool(http_wsman(http_twin, encryption="never")).open()
    assert info.value.code == 500
    log = http_twin.admin().log()
    assert log[0]["auth_refused"] and log[-1]["refused"].startswith("unencrypted")
    assert http_twin.backend.runtime_state()["shells"] == 0


def test_allow_unencrypted_lets_basic_over_http(tls: TLSMaterial) -> None:
    lax = start_twin("winrm", tls=None, allow_unencrypted=True, allow_basic=True)
    try:
        node = Node(lax, http_wsman(lax, auth="basic", encryption="never"))
        assert not node.run("Get-Service", Name="IKEEXT").had_errors
        node.close()
    finally:
        lax.stop()
    https_only_ntlm = start_twin("winrm", tls=tls)
    try:
        with pytest.raises(AuthenticationError):
            RunspacePool(https_wsman(https_only_ntlm)).open()
    finally:
        https_only_ntlm.stop()


def test_wrong_ntlm_credentials_are_401(http_twin: RunningTwin) -> None:
    with pytest.raises(AuthenticationError):
        RunspacePool(http_wsman(http_twin, password="wrong")).open()
    with pytest.raises(AuthenticationError):
        RunspacePool(http_wsman(http_twin, auth="negotiate", user="nobody", password="x")).open()
    with pytest.raises(AuthenticationError):  # a domain that is not this machine
        RunspacePool(http_wsman(http_twin, user=r"CORP\automation")).open()
    log = http_twin.admin().log()
    assert {e["status"] for e in log} == {401}
    assert sum(1 for e in log if e.get("auth_error")) == 3
    assert http_twin.backend.runtime_state()["shells"] == 0


def test_concurrent_connections_keep_separate_contexts(http_twin: RunningTwin) -> None:
    nodes = {
        "automation": Node(http_twin, http_wsman(http_twin)),
        "Administrator": Node(
            http_twin, http_wsman(http_twin, auth="negotiate", user="Administrator", password="admin-pass")
        ),
    }
    barrier = threading.Barrier(len(nodes))
    failures: list[BaseException] = []

    def work(n: Node) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(5):
                assert not n.run("Get-VpnServerConfiguration", TunnelType="IKEv2").had_errors
                assert not n.run("Get-ItemProperty", Path=SSTP).had_errors
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in nodes.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for n in nodes.values():
        n.close()
    assert not failures
    by_port: dict[int, set[str]] = {}
    for e in http_twin.admin().log():
        if e.get("wsman"):
            by_port.setdefault(e["client_port"], set()).add(e["user"])
    assert sorted(map(sorted, by_port.values())) == [["Administrator"], ["automation"]]
