"""How RRAS failures reach the user: the node, the command and PowerShell's error record; a wrong password
or an untrusted certificate named per node; never a traceback or a secret; nothing restarted or drained."""

from __future__ import annotations

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
    new = start_twin("winrm", tls=tls, hostname="rras-new")
    old = start_twin("winrm", tls=tls, hostname="rras-old", os_build=14393)
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


def restarts(*twins: Any) -> list[str]:
    return [e["cmdlet"] for t in twins for e in t.admin().log() if e.get("cmdlet") == "Restart-Service"]


def test_a_policy_a_node_refuses_names_the_node_command_and_error_record(
    project: Project, twins: Any
) -> None:
    f5, new, old, _ = twins
    gcm = {
        "encryptionMethod": "GCMAES256",
        "integrityCheckMethod": "SHA384",
        "cipherTransformConstants": "GCMAES256",
        "authenticationTransformConstants": "GCMAES256",
    }
    decl = cluster_decl(f5, [("rras-new", new), ("rras-old", old)], ipsec=gcm)
    project.write_stack("errors", [decl], f5.secrets() | {"rrasPassword": PASSWORD})
    run = project.pulumi("up", "--yes", "--skip-preview", stack="errors")
    assert run.exit_code != 0
    lines = [ln for ln in run.output.splitlines() if "node rras-old: Set-VpnServerConfiguration" in ln]
    assert lines, run.output
    line = lines[0]
    assert "-EncryptionMethod 'GCMAES256'" in line and "-CustomPolicy" in line  # the command as sent
    assert "FullyQualifiedErrorId:" in line  # PowerShell's error record
    assert "Traceback" not in run.output and PASSWORD not in run.output
    # the new node took the policy; nothing was restarted or drained while a node refuses it
    assert new.admin().state()["running"]["vpn"]["policies"]["IKEv2"]["EncryptionMethod"] == "GCMAES256"
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
