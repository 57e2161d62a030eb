"""SSTP TLS hardening and the SSTP certificate's expiry end to end, through the real Pulumi CLI.

Two RRAS nodes on different Windows builds (Server 2022, 20348, and Server 2016, 14393), each its own WinRM
twin (NTLM over HTTPS), behind an F5 twin. The cluster ``vpn-tls`` (SSTP to the nodes, ``sstp.tlsHardening:
security``) gets the Schannel values and the cipher-suite order of each node's build, read back (a second
``up`` writes nothing), repaired after a hand change, and the node rebooted for them (its restart's
"Computer" revision moved); switched back to ``off`` the values stay as they are (``rras.onRemove: keep``).
Its nodes' certificates expire in 90 and 10 days; ``vpn-edge`` offloads TLS to the F5 with a certificate
expiring in 10 days. The record of each certificate is in the cluster's outputs, and every preview and up
warns about the 10-day ones, never about the 90-day one.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from emulators.common import RunningTwin, TLSMaterial, start_twin
from providers.rras.tls import cipher_suite_order
from tests.e2e.certificates import TLS_OFFLOAD, offload_secrets
from tests.e2e.devices import F5, PASSWORD, USER, Decl
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "rras-tls"
BUILDS = {"rras1": 20348, "rras2": 14393}
PROTOCOLS = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
CIPHERS = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002"


def pem_certificate(name: str, days: float) -> tuple[str, str, str]:
    """A certificate for ``name`` expiring in ``days`` days (and an hour): PEM, key, thumbprint."""
    end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days, hours=1)
    leaf = trustme.CA().issue_cert(name, common_name=name, not_after=end)
    pem = leaf.cert_chain_pems[0].bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    thumbprint = hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - X509Certificate2.Thumbprint
    return pem.decode(), leaf.private_key_pem.bytes().decode(), thumbprint


class Site:
    """The F5 twin, the two node twins and the stack's declaration."""

    def __init__(self, f5: F5, nodes: dict[str, RunningTwin]) -> None:
        self.f5, self.nodes = f5, nodes
        self.lb_pem, self.lb_key, self.lb_thumbprint = pem_certificate("sstp.example.test", 10)

    def management(self, name: str) -> dict[str, Any]:
        twin = self.nodes[name]
        assert twin.tls is not None
        return {
            "endpoint": f"{twin.url}/wsman",
            "user": USER,
            "passwordSecret": "rrasPassword",
            "auth": "ntlm",
            "caBundle": str(twin.tls.ca_path),
        }

    def clusters(self, hardening: str = "security") -> list[Decl]:
        hardened = self.f5.cluster(
            {
                "name": "vpn-tls",
                "protocols": ["sstp"],
                "virtualAddress": "192.0.2.80",
                "nodes": [
                    {"name": name, "address": f"198.51.100.8{i}", "management": self.management(name)}
                    for i, name in enumerate(self.nodes, start=1)
                ],
                "sstp": {"tlsHardening": hardening},
            }
        )
        edge = self.f5.cluster(
            {
                "name": "vpn-edge",
                "protocols": ["sstp"],
                "virtualAddress": "192.0.2.81",
                "nodes": [{"name": "edge1", "address": "198.51.100.91"}],
                "sstp": {"tlsOffload": TLS_OFFLOAD},
            }
        )
        return [hardened, edge]

    def secrets(self) -> dict[str, str]:
        return self.f5.secrets() | {"rrasPassword": PASSWORD} | offload_secrets(self.lb_pem, self.lb_key)

    def registry(self, name: str) -> dict[str, Any]:
        registry: dict[str, Any] = self.nodes[name].backend.running["registry"]
        return registry

    def writes(self, name: str, since: int) -> list[str]:
        return [str(e.get("cmdlet")) for e in self.nodes[name].admin().log(since=since) if e.get("write")]

    def seq(self, name: str) -> int:
        log = self.nodes[name].admin().log()
        return int(log[-1]["seq"]) if log else 0


@pytest.fixture(scope="module")
def site(f5: F5, tls: TLSMaterial) -> Iterator[Site]:
    nodes = {
        name: start_twin("winrm", tls=tls, hostname=name, os_build=build) for name, build in BUILDS.items()
    }
    try:
        yield Site(f5, nodes)
    finally:
        for twin in nodes.values():
            twin.stop()


def component_outputs(project: Project, cluster: str) -> dict[str, Any]:
    """The outputs the cluster's component registered (the stack's ``clusters`` output carries what
    __main__.py picks of them)."""
    for resource in project.checkpoint(STACK)["checkpoint"]["latest"]["resources"]:
        if resource["type"] == "aovpn:index:VpnCluster" and resource["urn"].endswith(f"::{cluster}"):
            outputs: dict[str, Any] = resource.get("outputs") or {}
            return outputs
    raise AssertionError(f"no component {cluster}")


def restart_inputs(project: Project, node: str) -> dict[str, Any]:
    name = f"vpn-tls-{node}-restart"
    for resource in project.checkpoint(STACK)["checkpoint"]["latest"]["resources"]:
        if resource["urn"].endswith(f"::{name}"):
            inputs: dict[str, Any] = resource["inputs"]
            return inputs
    raise AssertionError(f"no {name}")


def warned(output: str, thumbprint: str) -> list[str]:
    """The warnings about the certificate ``thumbprint`` in the CLI's output (each shown where it happened
    and again under Diagnostics)."""
    return sorted(
        {line.strip() for line in output.splitlines() if thumbprint in line and "SSTP cert" in line}
    )


def test_tls_hardening_per_build_reboot_drift_and_certificate_expiry(site: Site, project: Project) -> None:
    long_pem, _, long_thumb = pem_certificate("rras1.example.test", 90)
    short_pem, _, short_thumb = pem_certificate("rras2.example.test", 10)
    site.nodes["rras1"].backend.set_sstp_certificate(long_pem)
    site.nodes["rras2"].backend.set_sstp_certificate(short_pem)
    project.write_stack(STACK, site.clusters(), site.secrets())

    # a preview of the new stack already warns about the two certificates that expire in 10 days
    preview = project.pulumi("preview", stack=STACK, check=True)
    node_warning = " ".join(warned(preview.output, short_thumb))
    assert "vpn-tls: the SSTP certificate CN=rras2.example.test" in node_warning
    assert "on node rras2 expires in 10 days" in node_warning
    lb_warning = " ".join(warned(preview.output, site.lb_thumbprint))
    assert (
        "vpn-edge:" in lb_warning and "on the load balancer (secret config key sstpCertificate)" in lb_warning
    )
    assert warned(preview.output, long_thumb) == []
    assert [n for n in site.nodes if site.writes(n, 0)] == []  # a preview writes nothing

    boots = {n: t.backend.boot_count for n, t in site.nodes.items()}
    up = project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert warned(up.output, short_thumb) and warned(up.output, site.lb_thumbprint)
    assert warned(up.output, long_thumb) == []
    for name, build in BUILDS.items():
        registry = site.registry(name)
        # the list of the node's own build: Server 2022 gets the TLS 1.3 suites, Server 2016 does not
        assert registry[CIPHERS]["Functions"] == {
            "kind": "String",
            "value": cipher_suite_order(build, "security"),
        }
        for protocol in ("SSL 3.0", "TLS 1.0", "TLS 1.1"):
            assert registry[f"{PROTOCOLS}\\{protocol}\\Server"]["Enabled"] == {"kind": "DWord", "value": 0}
        assert len(restart_inputs(project, name)["services"]["Computer"]) == 4
        # rebooted for them (one at a time, drained): Schannel now runs what the registry says
        assert site.nodes[name].backend.boot_count > boots[name], f"{name} was not rebooted"
        assert site.nodes[name].backend.tls_runtime()["pending_reboot"] is False
    assert cipher_suite_order(20348, "security") != cipher_suite_order(14393, "security")

    tls = component_outputs(project, "vpn-tls")["sstp_certificate"]
    assert (tls["heldBy"], tls["thumbprint"], tls["daysLeft"]) == ("rras2", short_thumb, 10)
    assert tls["subject"].startswith("CN=rras2.example.test")
    assert tls["nodes"]["rras1"]["thumbprint"] == long_thumb and tls["nodes"]["rras1"]["daysLeft"] == 90
    assert datetime.datetime.fromisoformat(tls["notAfter"]) > datetime.datetime.now(datetime.UTC)
    edge = component_outputs(project, "vpn-edge")["sstp_certificate"]
    assert (edge["heldBy"], edge["thumbprint"], edge["daysLeft"]) == ("load balancer", site.lb_thumbprint, 10)
    assert "BEGIN" not in json.dumps(project.checkpoint(STACK)["checkpoint"]["latest"]["resources"][0])
    stack_output = project.pulumi("stack", "output", "--json", "clusters", stack=STACK, check=True).json()
    if "sstpCertificate" in stack_output["vpn-tls"]:  # once __main__.py exports it
        assert stack_output["vpn-tls"]["sstpCertificate"]["thumbprint"] == short_thumb

    # a second up writes nothing, reboots nothing, and warns again without a refresh
    since = {n: site.seq(n) for n in site.nodes}
    boots = {n: t.backend.boot_count for n, t in site.nodes.items()}
    again = project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert {n: site.writes(n, since[n]) for n in site.nodes} == {n: [] for n in site.nodes}
    assert {n: t.backend.boot_count for n, t in site.nodes.items()} == boots
    assert warned(again.output, short_thumb) and warned(again.output, site.lb_thumbprint)

    # someone puts a weak cipher-suite order on rras2: the merge command (up --refresh) repairs it and reboots
    site.nodes["rras2"].backend.write_value(
        CIPHERS, "Functions", "String", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", force=True
    )
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert drift.exit_code != 0 and "tls-cipher-suites" in drift.output
    project.pulumi("up", "--refresh", "--yes", "--skip-preview", stack=STACK, check=True)
    assert site.registry("rras2")[CIPHERS]["Functions"]["value"] == cipher_suite_order(14393, "security")
    assert site.nodes["rras2"].backend.boot_count == boots["rras2"] + 1
    assert site.nodes["rras1"].backend.boot_count == boots["rras1"]

    # rras2's certificate renewed: the refresh reads it, and the warning about it is gone
    renewed_pem, _, renewed_thumb = pem_certificate("rras2.example.test", 90)
    site.nodes["rras2"].backend.set_sstp_certificate(renewed_pem)
    project.pulumi("refresh", "--yes", "--skip-preview", stack=STACK, check=True)
    after = project.pulumi("preview", stack=STACK, check=True)
    assert warned(after.output, short_thumb) == [] and warned(after.output, renewed_thumb) == []
    assert warned(after.output, site.lb_thumbprint)


def test_switched_back_to_off_the_values_stay(site: Site, project: Project) -> None:
    project.write_stack(STACK, site.clusters(), site.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)  # as the test above leaves it
    since = {n: site.seq(n) for n in site.nodes}
    project.write_stack(STACK, site.clusters(hardening="off"), site.secrets())
    boots = {n: t.backend.boot_count for n, t in site.nodes.items()}
    off = project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    print("reboots when switched off:", {n: t.backend.boot_count - boots[n] for n, t in site.nodes.items()})
    for name, build in BUILDS.items():
        registry = site.registry(name)
        assert registry[CIPHERS]["Functions"]["value"] == cipher_suite_order(build, "security")
        assert registry[f"{PROTOCOLS}\\TLS 1.0\\Server"]["Enabled"]["value"] == 0
        assert not [w for w in site.writes(name, since[name]) if w.startswith(("New-Item", "Remove-Item"))]
    assert "left on the node as it is (rras.onRemove: keep)" in off.output
    assert "Computer" not in restart_inputs(project, "rras1")["services"]
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)
