"""How RRAS failures reach the user: the node, the command and PowerShell's error record; a wrong password
or an untrusted certificate named per node; never a traceback or a secret; nothing restarted or drained."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from emulators.common import ensure_tls, start_twin
from tests.e2e.devices import F5, PASSWORD, USER, Decl, last_seq
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

ERR: Decl = {"name": "vpn-err", "virtualAddress": "192.0.2.80"}


@pytest.fixture(scope="module")
def twins(f5: F5, tls: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # rras-old runs Windows Server 2016 (build 14393): no AES-GCM for IKE
    # (docs/rras.md#ranges-and-invalid-combinations)
    # these nodes are reached with Basic, which Windows has off unless enabled
    new = start_twin("winrm", tls=tls, hostname="rras-new", allow_basic=True)
    old = start_twin("winrm", tls=tls, hostname="rras-old", os_build=14393, allow_basic=True)
    other_ca = ensure_tls(tmp_path_factory.mktemp("other-ca"))
    yield f5, new, old, other_ca
    for twin in (new, old):
        twin.stop()


def cluster_decl(f5: F5, nodes: list[tuple[str, Any]], net: int = 8, **changes: Any) -> Decl:
    managed = [
        {
            "name": name,
            "address": f"198.51.100.{net}{i}",
            "management": {
                "endpoint": f"{twin.url}/wsman",
                "user": USER,
                "passwordSecret": "rrasPassword",
                "auth": "basic",
                "caBundle": str(twin.tls.ca_path),
            },
        }
        for i, (name, twin) in enumerate(nodes, start=1)
    ]
    return f5.cluster(ERR, nodes=managed, **changes)


def writes(twin: Any) -> int:
    return len(twin.admin().writes())


def restarts(*twins: Any) -> list[str]:
    return [e["cmdlet"] for t in twins for e in t.admin().log() if e.get("cmdlet") == "Restart-Service"]


def test_a_policy_a_node_cannot_apply_is_refused_before_anything_is_sent(
    project: Project, twins: Any
) -> None:
    """AES-GCM for IKE on a Windows Server 2016 node: refused by the node's build check, naming the cluster,
    the node, its build and the field. In preview nothing is written anywhere; in ``up --skip-preview`` (no
    preview to stop it first) nothing is written to either node and nothing restarts or drains, though the
    engine may already have created load-balancer objects that do not depend on the nodes."""
    f5, new, old, _ = twins
    gcm = {
        "encryptionMethod": "GCMAES256",
        "integrityCheckMethod": "SHA384",
        "cipherTransformConstants": "GCMAES256",
        "authenticationTransformConstants": "GCMAES256",
    }
    decl = cluster_decl(f5, [("rras-new", new), ("rras-old", old)], ipsec=gcm)
    project.write_stack("errors", [decl], f5.secrets() | {"rrasPassword": PASSWORD})

    def refused(*args: str) -> None:
        run = project.pulumi(*args, stack="errors")
        assert run.exit_code != 0
        assert "node rras-old runs Windows build 14393" in run.output, run.output
        assert "ipsec.encryptionMethod GCMAES256 needs build 17134" in run.output, run.output
        assert "rras-new runs" not in run.output  # the node that can apply it is not named
        assert "Traceback" not in run.output and PASSWORD not in run.output

    before = [writes(t) for t in (new, old, f5.twin)]
    refused("preview")
    assert [writes(t) for t in (new, old, f5.twin)] == before
    refused("up", "--yes", "--skip-preview")
    assert [writes(t) for t in (new, old)] == before[:2]
    assert restarts(new, old) == [] and f5.drain_events(0, decl) == []


def test_a_wrong_password_is_named_per_node_without_the_secret(project: Project, twins: Any) -> None:
    f5, new, _, _ = twins
    wrong = "not-the-" + PASSWORD
    decl = cluster_decl(f5, [("rras-new", new)], net=9, name="vpn-pw", virtualAddress="192.0.2.81")
    project.write_stack("wrong-password", [decl], f5.secrets() | {"rrasPassword": wrong})
    run = project.pulumi("up", "--yes", "--skip-preview", stack="wrong-password")
    assert run.exit_code != 0
    assert (
        f"node rras-new: WinRM at {new.url}/wsman refused the credentials of 'automation' (basic): "
        "check the secret 'rrasPassword'" in run.output
    ), run.output
    assert wrong not in run.output and "Traceback" not in run.output


def test_an_untrusted_node_certificate_is_refused(project: Project, twins: Any) -> None:
    f5, new, _, other_ca = twins
    decl = cluster_decl(f5, [("rras-new", new)], net=10, name="vpn-ca", virtualAddress="192.0.2.82")
    decl["nodes"][0]["management"]["caBundle"] = str(other_ca.ca_path)
    project.write_stack("untrusted", [decl], f5.secrets() | {"rrasPassword": PASSWORD})
    seq = last_seq(new)
    run = project.pulumi("up", "--yes", "--skip-preview", stack="untrusted")
    assert run.exit_code != 0
    assert (
        f"node rras-new: the certificate of {new.url}/wsman is not trusted by the caBundle "
        f"{other_ca.ca_path}" in run.output
    ), run.output
    assert "CERTIFICATE_VERIFY_FAILED" in run.output
    assert new.admin().log(since=seq) == []  # not one request reached the node


@pytest.fixture
def windows_node(tls: Any) -> Any:
    """A node with Windows' WinRM defaults: Basic off, Negotiate and Kerberos on."""
    twin = start_twin("winrm", tls=tls, hostname="rras-win")
    yield twin
    twin.stop()


def test_basic_disabled_on_the_node_is_named_with_the_way_out(
    project: Project, twins: Any, windows_node: Any
) -> None:
    f5 = twins[0]
    decl = cluster_decl(
        f5, [("rras-win", windows_node)], net=11, name="vpn-nobasic", virtualAddress="192.0.2.83"
    )
    project.write_stack("basic-off", [decl], f5.secrets() | {"rrasPassword": PASSWORD})
    run = project.pulumi("up", "--yes", "--skip-preview", stack="basic-off")
    assert run.exit_code != 0
    assert (
        f"node rras-win: Basic authentication is disabled on the WinRM service at {windows_node.url}/wsman "
        "(it offers Negotiate, Kerberos): enable it on the node" in run.output
    ), run.output
    assert "declare auth: ntlm, negotiate or kerberos" in run.output
    assert "Traceback" not in run.output and PASSWORD not in run.output


def test_negotiate_by_ip_with_the_kerberos_hostname_converges(
    project: Project, twins: Any, windows_node: Any
) -> None:
    f5 = twins[0]
    decl = cluster_decl(
        f5, [("rras-win", windows_node)], net=12, name="vpn-nego", virtualAddress="192.0.2.84"
    )
    decl["nodes"][0]["management"].update(auth="negotiate", kerberosHostname="rras-win.corp.example")
    project.write_stack("negotiate", [decl], f5.secrets() | {"rrasPassword": PASSWORD})
    run = project.pulumi("up", "--yes", "--skip-preview", stack="negotiate")
    assert run.exit_code == 0, run.output
    log = windows_node.admin().log()
    # no Kerberos on this machine: SPNEGO completed as NTLM, naming the principal of the DNS name
    handshakes = {(e["auth_scheme"], e["auth"], e["spn"]) for e in log if e.get("spn")}
    assert handshakes == {("Negotiate", "ntlm", "HTTP/rras-win.corp.example")}, handshakes
    assert "Set-VpnServerConfiguration" in [e.get("cmdlet") for e in log]
    assert windows_node.admin().state()["running"]["vpn"]["policies"]["IKEv2"]["CustomPolicy"] is True


def test_kerberos_that_cannot_work_here_is_named_before_any_request(
    project: Project, twins: Any, windows_node: Any
) -> None:
    f5 = twins[0]
    decl = cluster_decl(f5, [("rras-win", windows_node)], net=13, name="vpn-krb", virtualAddress="192.0.2.85")
    endpoint = f"https://localhost:{windows_node.port}/wsman"
    decl["nodes"][0]["management"].update(auth="kerberos", endpoint=endpoint)
    project.write_stack("kerberos", [decl], f5.secrets() | {"rrasPassword": PASSWORD})
    run = project.pulumi("up", "--yes", "--skip-preview", stack="kerberos")
    assert run.exit_code != 0
    if importlib.util.find_spec("gssapi") is None:  # the provider host runs in this interpreter
        wanted = f"node rras-win: Kerberos is not available on this machine for {endpoint}: the Python gssapi"
        assert wanted in run.output, run.output
        assert windows_node.admin().log() == []  # refused before any request
    else:  # a Kerberos library but no realm or ticket for it
        assert "node rras-win: no Kerberos ticket for 'automation'" in run.output, run.output
    assert "Traceback" not in run.output and PASSWORD not in run.output
