"""The WinRM twin's transport and authentication, driven by the real pypsrp client.

Basic over HTTPS, a reboot dropping the PSRP shell; NTLM/Negotiate with message encryption over plain
HTTP, NTLM over HTTPS, the AllowUnencrypted=false policy and concurrent authenticated connections.
"""

from __future__ import annotations

import threading

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import WSMan

from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.emulators.winrm.client import BASELINE, SSTP, Node, http_wsman, https_wsman, ps_props


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
        props = ps_props(node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])
        assert (props["EncryptionMethod"], props["DHGroup"]) == ("AES128", "Group14")
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
    lax = start_twin("winrm", tls=None, allow_unencrypted=True)
    try:
        node = Node(lax, http_wsman(lax, auth="basic", encryption="never"))
        assert not node.run("Get-Service", Name="IKEEXT").had_errors
        node.close()
    finally:
        lax.stop()
    https_only_ntlm = start_twin("winrm", tls=tls, allow_basic=False)
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
