"""IKEv2 hardening of the RRAS nodes through the real Pulumi CLI: CRL checking, the accepted root CA and the
IKEv2 connection timeouts applied, read back (a second ``up`` sends nothing to a node) and repaired after a
change by hand; and a declaration a node's Windows build cannot apply (AES-GCM for IKE, IKEv2
fragmentation) or a root the node does not hold refused at preview, with zero writes on every twin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from emulators.common import RunningTwin, TLSMaterial, start_twin
from emulators.winrm.hardening import make_root_certificate
from tests.e2e.devices import F5, PASSWORD, USER, Decl, last_seq
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

IKEV2_KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
PS_IKEV2_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
HARD: Decl = {"name": "vpn-hard", "virtualAddress": "192.0.2.90", "persistenceTimeout": 1800}


@pytest.fixture(scope="module")
def nodes(tls: TLSMaterial) -> Iterator[dict[str, RunningTwin]]:
    """Two current nodes and a Windows Server 2016 one (build 14393), a twin each."""
    twins = {
        "rras1": start_twin("winrm", tls=tls, hostname="rras1"),
        "rras2": start_twin("winrm", tls=tls, hostname="rras2"),
        "rras-2016": start_twin("winrm", tls=tls, hostname="rras-2016", os_build=14393),
    }
    yield twins
    for twin in twins.values():
        twin.stop()


def decl(f5: F5, nodes: dict[str, RunningTwin], names: tuple[str, ...], net: int, **changes: Any) -> Decl:
    managed = [
        {
            "name": name,
            "address": f"198.51.100.{net}{i}",
            "management": {
                "endpoint": f"{nodes[name].url}/wsman",
                "user": USER,
                "passwordSecret": "rrasPassword",
                "auth": "ntlm",
                "caBundle": str(nodes[name].tls.ca_path),
            },
        }
        for i, name in enumerate(names, start=1)
    ]
    return f5.cluster(HARD, nodes=managed, **changes)


def commands(twin: RunningTwin, since: int) -> list[str]:
    return [e["cmdlet"] for e in twin.admin().log(since=since) if e.get("cmdlet")]


def writes(twin: RunningTwin, since: int) -> list[str]:
    return [e["cmdlet"] for e in twin.admin().log(since=since) if e.get("write")]


def restarts(twin: RunningTwin, since: int) -> list[str]:
    return [c for c in commands(twin, since) if c == "Restart-Service"]


class Console:
    """Someone at a node's PowerShell prompt (pypsrp, NTLM over HTTPS)."""

    def __init__(self, twin: RunningTwin) -> None:
        assert twin.tls is not None
        self.wsman = WSMan(
            "127.0.0.1",
            port=twin.port,
            ssl=True,
            auth="ntlm",
            username=USER,
            password=PASSWORD,
            cert_validation=str(twin.tls.ca_path),
        )

    def run(self, cmdlet: str, params: dict[str, Any] | None = None, argv: tuple[str, ...] = ()) -> list[Any]:
        with RunspacePool(self.wsman) as pool:
            ps = PowerShell(pool)
            ps.add_cmdlet(cmdlet)
            for name, value in (params or {}).items():
                ps.add_parameter(name, value)
            for arg in argv:
                ps.add_argument(arg)
            out: list[Any] = ps.invoke()
            assert not ps.had_errors and not ps.streams.error, ps.streams.error
            return out


def test_hardening_is_applied_read_back_and_repaired(project: Project, f5: F5, nodes: Any) -> None:
    names = ("rras1", "rras2")
    der = make_root_certificate("CN=Contoso Root CA, O=Contoso")  # one root CA, imported on both nodes
    (root,) = {nodes[n].backend.add_root_certificate(der) for n in names}
    ikev2 = {
        "crlCheck": True,
        "rootCertificateThumbprint": root,
        "idleTimeoutMinutes": 10,
        "networkOutageMinutes": 3,
    }
    cluster = decl(f5, nodes, names, 9, ikev2=ikev2)
    project.write_stack("hardening", [cluster], f5.secrets() | {"rrasPassword": PASSWORD})

    run = project.pulumi("up", "--yes", stack="hardening", check=True)
    # {EAP, MsChapv2} accepted: the root only binds certificate authentication, and the run says so
    assert "UserAuthProtocolAccepted (EAP, MsChapv2) does not list" in run.output, run.output
    for name in names:
        state = nodes[name].admin().state()
        registry = state["running"]["registry"][IKEV2_KEY]
        assert registry["CertAuthFlags"] == {"kind": "DWord", "value": 4}
        assert registry["idleTimeout"] == {"kind": "DWord", "value": 600}
        assert registry["networkBlackoutTime"] == {"kind": "DWord", "value": 180}
        assert state["running"]["vpn_auth"]["RootCertificateNameToAccept"]["thumbprint"] == root
        runtime = state["runtime"]
        assert runtime["pending_restart"] == []  # RemoteAccess restarted: all of it in effect
        assert (
            runtime["effective"]["RemoteAccess"]["vpn_auth"]["RootCertificateNameToAccept"]["thumbprint"]
            == root
        )
        shown = "\n".join(
            str(x) for x in Console(nodes[name]).run("netsh", argv=("ras", "show", "ikev2connection"))
        )
        assert ": 10" in shown and ": 3" in shown  # netsh shows what the registry says, in minutes

    marks = {n: last_seq(nodes[n]) for n in names}
    lb = f5.last_seq()
    project.pulumi("up", "--yes", stack="hardening", check=True)
    assert {n: commands(nodes[n], marks[n]) for n in names} == {n: [] for n in names}  # not even a read
    assert f5.writes(lb) == []

    # by hand on rras2: the timeouts with netsh, the root cleared, the CRL check removed
    console = Console(nodes["rras2"])
    console.run("netsh", argv=("ras", "set", "ikev2connection", "idletimeout=30", "nwoutagetime=30"))
    console.run("Set-VpnAuthProtocol", {"RootCertificateNameToAccept": None})
    console.run("Remove-ItemProperty", {"Path": PS_IKEV2_KEY, "Name": "CertAuthFlags"})
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack="hardening")
    assert drift.exit_code == 7, drift.output
    marks = {n: last_seq(nodes[n]) for n in names}
    project.pulumi("up", "--yes", "--refresh", stack="hardening", check=True)
    repaired = nodes["rras2"].admin().state()["running"]
    assert repaired["registry"][IKEV2_KEY]["CertAuthFlags"]["value"] == 4
    assert repaired["registry"][IKEV2_KEY]["idleTimeout"]["value"] == 600
    assert repaired["registry"][IKEV2_KEY]["networkBlackoutTime"]["value"] == 180
    assert repaired["vpn_auth"]["RootCertificateNameToAccept"]["thumbprint"] == root
    assert restarts(nodes["rras2"], marks["rras2"]) and not restarts(nodes["rras1"], marks["rras1"])
    assert writes(nodes["rras1"], marks["rras1"]) == []
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack="hardening").exit_code == 0
    project.pulumi("destroy", "--yes", "--skip-preview", stack="hardening", check=True)


def _refused_at_preview(project: Project, f5: F5, nodes: Any, stack: str, cluster: Decl) -> str:
    """Preview ``cluster`` on a new stack: it must fail, and no twin may have received a write."""
    project.write_stack(stack, [cluster], f5.secrets() | {"rrasPassword": PASSWORD})
    marks = {n: last_seq(t) for n, t in nodes.items()}
    lb = f5.last_seq()
    run = project.pulumi("preview", stack=stack)
    assert run.exit_code != 0, run.output
    assert "Traceback" not in run.output and PASSWORD not in run.output
    assert f5.writes(lb) == []
    assert {n: writes(t, marks[n]) for n, t in nodes.items()} == {n: [] for n in nodes}
    return run.output


def test_what_a_windows_build_cannot_apply_is_refused_at_preview(
    project: Project, f5: F5, nodes: Any
) -> None:
    names = ("rras1", "rras-2016")
    gcm = decl(f5, nodes, names, 7, ipsec={"preset": "enhanced"})
    output = _refused_at_preview(project, f5, nodes, "gcm-on-2016", gcm)
    assert "cluster vpn-hard, node rras-2016 runs Windows build 14393" in output, output
    assert "ipsec.encryptionMethod GCMAES128 (ipsec.preset enhanced) needs build 17134 or later" in output
    assert "node rras1 runs" not in output  # the current node is fine

    # the baseline policy, but IKEv2 fragmentation (on by default) needs 1803 too
    fragmentation = decl(f5, nodes, names, 7)
    output = _refused_at_preview(project, f5, nodes, "fragmentation-on-2016", fragmentation)
    assert (
        "node rras-2016 runs Windows build 14393" in output
        and "ikev2Fragmentation true needs build 17134" in output
    )
    assert "ipsec.encryptionMethod" not in output


def test_an_accepted_root_the_node_does_not_hold_is_refused_at_preview(
    project: Project, f5: F5, nodes: Any
) -> None:
    missing = "C0FFEE" + "0" * 34
    cluster = decl(f5, nodes, ("rras1",), 8, ikev2={"rootCertificateThumbprint": missing})
    output = _refused_at_preview(project, f5, nodes, "root-missing", cluster)
    assert f"node rras1: no certificate with thumbprint {missing} in Cert:\\LocalMachine\\Root" in output, (
        output
    )
