"""RRAS nodes reached through the project's JEA endpoint, end to end through the real Pulumi CLI.

Three nodes behind an F5 twin, declared with ``management.configurationName: AovpnRras``, on one WinRM twin
that serves the shipped jea/AovpnRras.pssc (emulators/winrm/jea.py): up with everything the role covers (the
IKEv2 hardening's accepted root through the role's function, SSTP TLS hardening and its reboot), a policy
change that rolls, a second up without writes, destroy. A role narrower than the project needs stops the
roll with the node's error record; a configuration the node lacks is named at preview.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.common import RunningTwin, TLSMaterial, start_twin
from emulators.winrm.hardening import make_root_certificate
from tests.e2e.devices import F5, PASSWORD, USER, Decl
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

NODES = ("rras1", "rras2", "rras3")
STACK = "rras-jea"
CONFIGURATION = "AovpnRras"
RAS: Decl = {
    "name": "vpn-jea",
    "virtualAddress": "192.0.2.90",
    "rras": {"drainTimeoutSeconds": 1},
}


@pytest.fixture(scope="module")
def rras(tls: TLSMaterial) -> Iterator[RunningTwin]:
    twin = start_twin("winrm", tls=tls, nodes=list(NODES), jea_configuration=CONFIGURATION)
    yield twin
    twin.stop()


@pytest.fixture(scope="module")
def root(rras: RunningTwin) -> str:
    """One root CA imported on every node (the accepted root's certificate)."""
    import base64

    text = _pem(base64.b64encode(make_root_certificate("CN=Contoso Root CA, O=Contoso")).decode())
    found = {node_admin(rras, n, "root-certificates", "POST", {"pem": text})["thumbprint"] for n in NODES}
    (thumbprint,) = found
    return str(thumbprint)


def _pem(b64: str) -> str:
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def node_admin(twin: RunningTwin, node: str, sub: str, method: str = "GET", body: Any = None) -> Any:
    return twin.admin()._call(method, f"nodes/{node}/{sub}", body)


def decl(f5: F5, rras: RunningTwin, root: str, configuration: str = CONFIGURATION, **changes: Any) -> Decl:
    assert rras.tls is not None
    managed = [
        {
            "name": name,
            "address": f"198.51.100.9{i}",
            "management": {
                "endpoint": f"{rras.url}/{name}/wsman",
                "user": USER,
                "passwordSecret": "rrasPassword",
                "auth": "ntlm",
                "caBundle": str(rras.tls.ca_path),
                "configurationName": configuration,
            },
        }
        for i, name in enumerate(NODES, start=1)
    ]
    base = {
        "protocols": ["ikev2", "sstp"],
        "ikev2": {"crlCheck": True, "rootCertificateThumbprint": root, "idleTimeoutMinutes": 10},
        "sstp": {"tlsHardening": "security"},
        **changes,
    }
    return f5.cluster(RAS, nodes=managed, **base)


def secrets(f5: F5) -> dict[str, str]:
    return f5.secrets() | {"rrasPassword": PASSWORD}


def entries(twin: RunningTwin, node: str, since: int = 0) -> list[dict[str, Any]]:
    return list(node_admin(twin, node, f"log?since={since}")["entries"])


def last(twin: RunningTwin) -> int:
    return max([0, *(e["seq"] for n in NODES for e in entries(twin, n))])


def cmdlets(twin: RunningTwin, node: str, since: int, write_only: bool = False) -> list[str]:
    return [
        e["cmdlet"]
        for e in entries(twin, node, since)
        if e.get("cmdlet") and (e.get("write") or not write_only)
    ]


def test_up_roll_second_up_and_destroy_through_the_jea_endpoint(
    project: Project, f5: F5, rras: RunningTwin, root: str
) -> None:
    since = last(rras)
    project.write_stack(STACK, [decl(f5, rras, root)], secrets(f5))
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    for node in NODES:
        log = entries(rras, node, since)
        created = [e for e in log if e.get("wsman") == "Create"]
        assert created and {e["configuration"] for e in created} == {CONFIGURATION}, created
        sent = [e["cmdlet"] for e in log if e.get("cmdlet")]
        assert "Set-AovpnAcceptedRoot" in sent and "Restart-Computer" in sent, sent
        running = node_admin(rras, node, "state")["running"]
        assert running["vpn_auth"]["RootCertificateNameToAccept"]["thumbprint"] == root
        assert running["vpn"]["policies"]["IKEv2"]["CustomPolicy"] is True

    # a policy change rolls: each node restarted through the endpoint
    since = last(rras)
    changed = decl(f5, rras, root, ipsec={"encryptionMethod": "AES256", "cipherTransformConstants": "AES256"})
    project.write_stack(STACK, [changed], secrets(f5))
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    for node in NODES:
        assert "Restart-Service" in cmdlets(rras, node, since), node
        effective = node_admin(rras, node, "effective")
        assert effective["RemoteAccess"]["vpn"]["policies"]["IKEv2"]["EncryptionMethod"] == "AES256"

    since, lb_since = last(rras), f5.last_seq()
    again = project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert all(cmdlets(rras, n, since, write_only=True) == [] for n in NODES), again.output
    assert f5.writes(lb_since) == []

    gone = project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)
    assert "Traceback" not in gone.output and PASSWORD not in gone.output


def test_a_narrower_role_stops_the_roll_with_the_node_error_record(
    project: Project, f5: F5, rras: RunningTwin, root: str
) -> None:
    project.write_stack(STACK, [decl(f5, rras, root)], secrets(f5))
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    # an administrator's role without Restart-Service on rras2
    node_admin(rras, "rras2", "jea", "PUT", {"configuration": CONFIGURATION, "hide": ["Restart-Service"]})
    try:
        policy = {"encryptionMethod": "AES192", "cipherTransformConstants": "AES192"}
        project.write_stack(STACK, [decl(f5, rras, root, ipsec=policy)], secrets(f5))
        run = project.pulumi("up", "--yes", "--skip-preview", stack=STACK)
        assert run.exit_code != 0, run.output
        assert "rolling restart stopped at node rras2" in run.output, run.output
        assert (
            "node rras2: Restart-Service -Name 'RemoteAccess' -Force failed: The term 'Restart-Service' is "
            "not recognized" in " ".join(run.output.split())
        ), run.output
        assert "CommandNotFoundException" in run.output and "Traceback" not in run.output
    finally:
        node_admin(rras, "rras2", "jea", "PUT", {"configuration": CONFIGURATION, "reset": True})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)


def test_a_configuration_the_node_lacks_is_named_at_preview(
    project: Project, f5: F5, rras: RunningTwin, root: str
) -> None:
    stack = "rras-jea-missing"
    project.write_stack(stack, [decl(f5, rras, root, configuration="Contoso.Dns")], secrets(f5))
    run = project.pulumi("preview", stack=stack)
    assert run.exit_code != 0, run.output
    assert "has no session configuration 'Contoso.Dns'" in run.output, run.output
    assert "jea/README.md" in run.output and PASSWORD not in run.output
