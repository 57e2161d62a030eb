"""providers/rras/sessions.py: the wait for a drained node's VPN sessions (counted as objects, bounded by the
drain timeout, on a fake clock) and the reboot that waits for a new boot time and RemoteAccess; then the
restart provider rebooting a node of the WinRM twin for a ``Computer`` revision, and the removal provider's
keep and revert on a node of the twin (docs/rras.md#draining-before-a-restart,
docs/rras.md#rebooting-a-node, docs/rras.md#removing-a-node-or-cluster)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from emulators.common import RunningTwin
from providers.common.errors import ProviderError
from providers.rras.objects import IpsecPolicyProvider, NodeRestartProvider
from providers.rras.removal import NodeRemovalProvider
from providers.rras.session import RrasCommandError, RrasConnectionError
from providers.rras.sessions import SessionWait, reboot, wait_for_sessions

IKEV2 = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"


class Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Conn:
    name: str = "rras1"


class Obj:
    """A deserialized PowerShell object: its adapted properties."""

    def __init__(self, **props: Any) -> None:
        self.adapted_properties = props


@dataclass
class FakeSession:
    """A node: ``answers`` per cmdlet, each a list consumed call by call (an exception is raised)."""

    answers: dict[str, list[Any]]
    conn: Conn = field(default_factory=Conn)
    calls: list[str] = field(default_factory=list)

    def invoke(self, cmdlet: str, parameters: Any = None, switches: tuple[str, ...] = ()) -> list[Any]:
        self.calls.append(cmdlet)
        queue = self.answers[cmdlet]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, BaseException):
            raise answer
        return list(answer)


def counting(*counts: int | BaseException) -> FakeSession:
    return FakeSession(
        {
            "Get-RemoteAccessConnectionStatistics": [
                c if isinstance(c, BaseException) else [Obj()] * c for c in counts
            ]
        }
    )


def test_the_wait_ends_when_the_last_session_has_ended() -> None:
    clock = Clock()
    session = counting(3, 2, 0)
    found = wait_for_sessions(session, 300, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert found == SessionWait(sessions=0, waited_s=1.5, timeout_s=300.0)  # 0.5 s, then 1 s: backoff
    assert clock.sleeps == [0.5, 1.0]
    assert found.describe("rras1") == "rras1: no VPN session left after 1.5 s"
    assert found.record() == {
        "sessions_at_restart": 0,
        "drain_waited_seconds": 1.5,
        "drain_timeout_seconds": 300.0,
    }


def test_sessions_that_outlast_the_timeout_are_reported_and_the_wait_is_bounded() -> None:
    clock = Clock()
    found = wait_for_sessions(counting(4), 20, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert (found.sessions, found.waited_s) == (4, 20.0)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 2.5]  # backing off to 5 s, never past the end
    assert found.describe("rras2") == (
        "rras2: 4 VPN sessions still up after 20.0 s, the drain timeout of 20 s passed; "
        "the restart drops them"
    )


def test_a_zero_timeout_counts_once_and_does_not_wait() -> None:
    clock = Clock()
    session = counting(2)
    found = wait_for_sessions(session, 0, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert (found.sessions, clock.sleeps, session.calls) == (2, [], ["Get-RemoteAccessConnectionStatistics"])
    assert (
        found.describe("rras1") == "rras1: 2 VPN sessions still up (not waited for); the restart drops them"
    )


def test_a_node_that_cannot_count_is_waited_for_and_one_that_cannot_be_reached_stops_the_wait() -> None:
    clock = Clock()
    failing = RrasCommandError("rras1", "Get-RemoteAccessConnectionStatistics", ["RaMgmtSvc is not running"])
    found = wait_for_sessions(counting(failing), 3, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert (
        found.sessions is None and found.waited_s == 3.0 and "RaMgmtSvc is not running" in str(found.problem)
    )
    assert "could not be counted" in found.describe("rras1")
    # a count that works again later is used
    recovered = wait_for_sessions(counting(failing, 0), 3, clock=Clock(), sleep=lambda s: None)  # type: ignore[arg-type]
    assert recovered.sessions == 0

    lost = RrasConnectionError("rras1", "https://rras1/wsman", "cannot reach https://rras1/wsman")
    with pytest.raises(RrasConnectionError):
        wait_for_sessions(counting(lost), 3, clock=Clock(), sleep=lambda s: None)  # type: ignore[arg-type]


def booting(boots: list[Any], statuses: list[Any], restart: Any = ()) -> FakeSession:
    return FakeSession(
        {
            "Get-CimInstance": [
                b if isinstance(b, BaseException) else [Obj(LastBootUpTime=b)] for b in boots
            ],
            "Restart-Computer": [restart],
            "Get-Service": [[Obj(Status=s)] for s in statuses],
        }
    )


def test_a_reboot_waits_for_a_new_boot_time_and_remoteaccess_running() -> None:
    clock = Clock()
    gone = RrasConnectionError("rras1", "https://rras1/wsman", "cannot reach https://rras1/wsman")
    # before; still the old boot; not answering; back with a new boot, RemoteAccess starting, then running
    session = booting(["t1", "t1", gone, "t2", "t2"], ["StartPending", "Running"], restart=gone)
    took = reboot(session, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert took == 8.0 and clock.sleeps == [2.0, 2.0, 2.0, 2.0]
    assert session.calls[:2] == ["Get-CimInstance", "Restart-Computer"]  # the answer may be lost: fine


def test_a_node_that_does_not_come_back_fails_naming_it() -> None:
    clock = Clock()
    with pytest.raises(ProviderError, match=r"node rras1 did not come back within 10 s .*not rebooted yet"):
        reboot(booting(["t1"], ["Running"]), wait_s=10, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    clock = Clock()
    with pytest.raises(ProviderError, match="back, but RemoteAccess is Stopped"):
        reboot(booting(["t1", "t2"], ["Stopped"]), wait_s=10, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


# -- the providers against a node of the twin ----------------------------------------------------------------


def configured(cls: type[Any]) -> Any:
    provider = cls()
    provider.configure(ConfigureRequest(Config({"aovpn:rrasPassword": "automation-pass"}, "aovpn")))
    return provider


def device(twin: RunningTwin) -> dict[str, Any]:
    assert twin.tls is not None
    return {
        "url": f"{twin.url}/wsman",
        "user": "automation",
        "password_key": "rrasPassword",
        "auth": "ntlm",
        "ca_bundle": str(twin.tls.ca_path),
    }


def test_a_computer_revision_reboots_the_node_instead_of_restarting_services(
    twin_factory: Callable[..., RunningTwin], capsys: pytest.CaptureFixture[str]
) -> None:
    twin = twin_factory("winrm")
    twin.admin()._call("PUT", "vpn-sessions", {"count": 2})
    provider = configured(NodeRestartProvider)
    base = {"node": "rras1", "device": device(twin), "drain": None, "owner": "o", "later_nodes": []}
    olds = {**base, "services": {"RemoteAccess": ["ipsec-policy a"], "Computer": ["Enabled 1"]}}
    news = {**base, "services": {"RemoteAccess": ["ipsec-policy a"], "Computer": ["Enabled 2"]}}
    news["drain_timeout_seconds"] = 300
    assert provider.diff("restart-rras1", {**olds, "drain_timeout_seconds": 5}, news).changes is None
    same = provider.diff("restart-rras1", {**news, "drain_timeout_seconds": 5}, news)
    assert same.changes is False  # the timeout alone restarts nothing

    outs = provider.update("restart-rras1", olds, news).outs
    last = outs["last_restart"]
    assert last["services"] == ["Computer"] and last["because"] == ["Enabled"]
    assert last["steps"] == "rras1: rebooted because Enabled changed, not drained (no load balancer drain)"
    assert (last["sessions_at_restart"], last["drain_timeout_seconds"]) == (2, 0.0)  # not drained: no wait
    state = twin.admin().state()
    assert state["boot_count"] == 2 and state["runtime"]["sessions_dropped"] == 2
    assert [e["cmdlet"] for e in twin.admin().log() if e.get("cmdlet") == "Restart-Service"] == []
    assert "rras1: 2 VPN sessions still up" in capsys.readouterr().err


def test_removal_keep_sends_nothing_and_revert_puts_defaults_back_and_restarts(
    twin_factory: Callable[..., RunningTwin], capsys: pytest.CaptureFixture[str]
) -> None:
    twin = twin_factory("winrm")
    policy = configured(IpsecPolicyProvider)
    props = {"node": "rras1", "device": device(twin), "owner": "o", "policy": {"EncryptionMethod": "AES256"}}
    policy.create({**props, "on_remove": "keep", "revision": None})
    removal = configured(NodeRemovalProvider)
    spec = {
        **props,
        "cluster": "vpn",
        "drain": None,
        "drain_timeout_seconds": 0,
        "services": ["RemoteAccess"],
    }
    del spec["policy"]

    since = len(twin.admin().log())
    policy.delete("rras1/ipsec-policy", {**props, "on_remove": "keep"})
    removal.delete("removal-rras1", {**spec, "on_remove": "keep"})
    assert twin.admin().log()[since:] == []  # keep: not a single request to the node
    told = capsys.readouterr().err
    assert "rras1 (cluster vpn) removed from the stack with rras.onRemove: keep" in told
    assert (
        "ipsec-policy stay on it" in told
        and "Set-VpnServerConfiguration -TunnelType IKEv2 -RevertToDefault" in told
    )
    assert twin.admin().state()["running"]["vpn"]["policies"]["IKEv2"]["CustomPolicy"] is True

    assert (
        removal.diff("removal-rras1", {**spec, "on_remove": "keep"}, {**spec, "on_remove": "revert"}).changes
        is None
    )
    starts = twin.admin().state()["runtime"]["services"]["RemoteAccess"]["start_count"]
    policy.delete("rras1/ipsec-policy", {**props, "on_remove": "revert"})
    removal.delete("removal-rras1", {**spec, "on_remove": "revert"})
    state = twin.admin().state()
    assert state["running"]["vpn"]["policies"]["IKEv2"]["CustomPolicy"] is False
    assert state["runtime"]["services"]["RemoteAccess"]["start_count"] == starts + 1
    effective = twin.admin()._call("GET", "effective")["RemoteAccess"]["vpn"]["policies"]["IKEv2"]
    assert effective["EncryptionMethod"] == "DES3"  # in effect now, not at some later restart
    told = capsys.readouterr().err
    assert "rras1: reverted to Windows' defaults (rras.onRemove: revert): ipsec-policy" in told
    assert "fail with error 13868" in told
