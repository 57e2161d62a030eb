"""Every mistake is caught at preview: a table of wrong declarations run through the real Pulumi CLI.

Each row is one wrong cluster. Rows are batched, several clusters per stack and one ``pulumi preview`` per
batch (the program reports every problem of every cluster at once); the rules across clusters and the
secret/CA rules have previews of their own. For every row: the preview fails, the output names the row's
cluster and field together (``cluster 'x': field: ...``), there is no Python traceback, nothing that looks
like a secret the row put in the declaration is echoed, and no twin (F5, Citrix, Kemp, WinRM) received
a single request.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from emulators.common import start_twin
from tests.e2e.devices import F5, PASSWORD, USER, Citrix, Decl, DeviceView, Kemp
from tests.e2e.project import Project

Mutate = Callable[[Decl], None]


@dataclass
class Row:
    """One wrong declaration: a vendor's valid cluster, ``mutate``d; ``field`` must be named with the
    cluster; ``hidden`` must not appear anywhere in the output."""

    id: str
    vendor: str
    mutate: Mutate
    field: str
    hidden: tuple[str, ...] = ()
    label: str | None = None  # the cluster as messages name it, when the row changes the name

    name: str = ""
    index: int = 0


@dataclass
class Twins:
    views: dict[str, DeviceView]
    winrm: Any
    marks: dict[str, int] = field(default_factory=dict)

    def all(self) -> dict[str, Any]:
        return {**{k: v.twin for k, v in self.views.items()}, "winrm": self.winrm}

    def mark(self) -> None:
        self.marks = {k: len(t.admin().log()) for k, t in self.all().items()}

    def requests_since_mark(self) -> dict[str, int]:
        return {k: len(t.admin().log()) - self.marks[k] for k, t in self.all().items()}


@pytest.fixture(scope="module")
def twins(f5: F5, adc: Citrix, kemp: Kemp, tls: Any) -> Iterator[Twins]:
    winrm = start_twin("winrm", tls=tls, nodes=["rras1", "rras2"], allow_basic=True)  # reached with Basic
    try:
        yield Twins({"f5": f5, "citrix": adc, "kemp": kemp}, winrm)
    finally:
        winrm.stop()


# --- mutations -------------------------------------------------------------------------------------------


def top(**changes: Any) -> Mutate:
    def apply(d: Decl) -> None:
        d.update(copy.deepcopy(changes))

    return apply


def lb(**changes: Any) -> Mutate:
    def apply(d: Decl) -> None:
        d["loadBalancer"].update(changes)

    return apply


def node(i: int = 0, **changes: Any) -> Mutate:
    def apply(d: Decl) -> None:
        d["nodes"][i].update(changes)

    return apply


def mgmt(**changes: Any) -> Mutate:
    """Both nodes managed through the WinRM twin, with ``changes`` on the first node's management."""

    def apply(d: Decl) -> None:
        for n in d["nodes"]:
            n["management"] = {
                "endpoint": f"{d['_winrm']}/{n['name']}/wsman",
                "user": USER,
                "passwordSecret": "rrasPassword",
                "auth": "basic",
                "caBundle": d["_ca"],
            }
        d["nodes"][0]["management"].update(changes)

    return apply


def sstp(**changes: Any) -> Mutate:
    def apply(d: Decl) -> None:
        d["protocols"] = ["sstp"]
        d["sstp"] = copy.deepcopy(changes)

    return apply


def url(fmt: str) -> Mutate:
    """The load balancer's URL rewritten: ``fmt`` with {url}, {host}, {port} of the twin."""

    def apply(d: Decl) -> None:
        m = re.match(r"https://([^:/]+):(\d+)", d["loadBalancer"]["url"])
        assert m
        d["loadBalancer"]["url"] = fmt.format(url=d["loadBalancer"]["url"], host=m.group(1), port=m.group(2))

    return apply


def both(*mutations: Mutate) -> Mutate:
    def apply(d: Decl) -> None:
        for m in mutations:
            m(d)

    return apply


OFFLOAD = {"certificateSecret": "sstpCert", "privateKeySecret": "sstpKey"}
RANDOM = "q8Zr2LmX0vKp7TsW4nYb9HcJ3dFg6AeU1iOo5PaQ2wEr8TyUi7OpAsDf3GhJkL0ZxCvBn"

ROWS: list[Row] = [
    # strict types: YAML 1.1 booleans, numbers as strings, decimals
    Row("timeout-bool", "f5", top(persistenceTimeout=True), "persistenceTimeout"),
    Row("timeout-on-string", "kemp", top(persistenceTimeout="on"), "persistenceTimeout"),
    Row("timeout-decimal", "citrix", top(persistenceTimeout=60.5), "persistenceTimeout"),
    Row("timeout-numeric-string", "f5", top(persistenceTimeout="3600"), "persistenceTimeout"),
    Row("sstp-port-bool", "f5", sstp(port=True), "sstp.port"),
    Row("sstp-port-string", "citrix", sstp(port="443"), "sstp.port"),
    Row("sstp-port-decimal", "kemp", sstp(port=443.5), "sstp.port"),
    Row("weak-crypto-yes", "f5", top(allowWeakCrypto="yes"), "allowWeakCrypto"),
    Row("fragmentation-int", "kemp", top(ikev2Fragmentation=1), "ikev2Fragmentation"),
    Row("fragmentation-string", "citrix", top(ikev2Fragmentation="true"), "ikev2Fragmentation"),
    Row("lifetime-string", "f5", top(ipsec={"saLifeTimeSeconds": "28800"}), "ipsec.saLifeTimeSeconds"),
    Row(
        "datasize-bool",
        "f5",
        top(ipsec={"saDataSizeForRenegotiationKilobytes": True}),
        "ipsec.saDataSizeForRenegotiationKilobytes",
    ),
    Row(
        "initial-query-string",
        "kemp",
        top(ikeNumEstablishedForInitialQuery="50000"),
        "ikeNumEstablishedForInitialQuery",
    ),
    Row(
        "reencrypt-string", "f5", sstp(tlsOffload={**OFFLOAD, "reencrypt": "no"}), "sstp.tlsOffload.reencrypt"
    ),
    Row("node-address-int", "f5", node(address=3232235777), "nodes[0].address"),
    Row("vip-bool", "citrix", top(virtualAddress=True), "virtualAddress"),
    Row("lb-user-int", "kemp", lb(user=1234), "loadBalancer.user"),
    Row("node-name-int", "f5", node(name=7), "nodes[0].name"),
    Row("lb-not-mapping", "f5", top(loadBalancer="https://bigip"), "loadBalancer"),
    Row("nodes-not-list", "citrix", top(nodes="rras1"), "nodes"),
    # addresses that are not a host's
    Row("vip-loopback", "f5", top(virtualAddress="127.0.0.1"), "virtualAddress"),
    Row("vip-broadcast", "citrix", top(virtualAddress="255.255.255.255"), "virtualAddress"),
    Row("vip-link-local", "kemp", top(virtualAddress="169.254.1.1"), "virtualAddress"),
    Row("vip-unspecified", "f5", top(virtualAddress="0.0.0.0"), "virtualAddress"),
    Row("vip-multicast", "f5", top(virtualAddress="224.0.0.1"), "virtualAddress"),
    Row("vip-reserved", "citrix", top(virtualAddress="240.0.0.1"), "virtualAddress"),
    Row("vip-v6-loopback", "kemp", top(virtualAddress="::1"), "virtualAddress"),
    Row("vip-v6-link-local", "f5", top(virtualAddress="fe80::1"), "virtualAddress"),
    Row("vip-this-network", "kemp", top(virtualAddress="0.1.2.3"), "virtualAddress"),
    Row("vip-malformed", "f5", top(virtualAddress="203.0.113.300"), "virtualAddress"),
    Row("node-loopback", "f5", node(address="127.0.0.2"), "nodes[0].address"),
    Row("node-broadcast", "kemp", node(1, address="255.255.255.255"), "nodes[1].address"),
    Row("node-link-local", "citrix", node(address="169.254.9.9"), "nodes[0].address"),
    Row("node-v6-multicast", "f5", node(address="ff02::1"), "nodes[0].address"),
    Row("node-v4-mapped", "kemp", node(address="::ffff:10.0.0.1"), "nodes[0].address"),
    Row("node-is-vip", "f5", lambda d: d["nodes"][0].update(address=d["virtualAddress"]), "nodes[0].address"),
    Row(
        "node-twice",
        "citrix",
        lambda d: d["nodes"][1].update(address=d["nodes"][0]["address"]),
        "nodes[1].address",
    ),
    Row("nodes-empty", "kemp", top(nodes=[]), "nodes"),
    Row("node-mixed-family", "f5", node(address="2001:db8::11"), "nodes[0].address"),
    # load-balancer URLs: https://host[:port] and nothing more
    Row("url-dotdot", "f5", url("{url}/../.."), "loadBalancer.url"),
    Row("url-query", "kemp", url("{url}?cmd=delvs"), "loadBalancer.url", hidden=("cmd=delvs",)),
    Row("url-path", "citrix", url("{url}/nitro/v1"), "loadBalancer.url"),
    Row("url-fragment", "f5", url("{url}#top"), "loadBalancer.url"),
    Row("url-http", "kemp", url("http://{host}:{port}"), "loadBalancer.url"),
    Row(
        "url-credentials",
        "citrix",
        url("https://nsroot:S3cretPw@{host}:{port}"),
        "loadBalancer.url",
        hidden=("S3cretPw",),
    ),
    Row("url-port-zero", "f5", url("https://{host}:0"), "loadBalancer.url"),
    Row("url-port-high", "kemp", url("https://{host}:70000"), "loadBalancer.url"),
    Row("url-empty-port", "citrix", url("https://{host}:"), "loadBalancer.url"),
    Row("url-underscore-host", "f5", url("https://big_ip:{port}"), "loadBalancer.url"),
    Row("url-space", "kemp", url("https://{host}:{port} /x"), "loadBalancer.url"),
    Row("url-no-host", "citrix", url("https://"), "loadBalancer.url"),
    Row("url-params", "f5", url("{url}/;x=1"), "loadBalancer.url"),
    Row("url-ftp", "f5", url("ftp://{host}:{port}"), "loadBalancer.url"),
    # WinRM endpoints: what the RRAS adapter accepts
    Row(
        "winrm-query",
        "f5",
        mgmt(endpoint="https://rras1.example.net:5986/wsman?x=1"),
        "nodes[0].management.endpoint",
    ),
    Row(
        "winrm-dotdot",
        "f5",
        mgmt(endpoint="https://rras1.example.net/../wsman"),
        "nodes[0].management.endpoint",
    ),
    Row(
        "winrm-escape",
        "kemp",
        mgmt(endpoint="https://rras1.example.net/%2e%2e/wsman"),
        "nodes[0].management.endpoint",
    ),
    Row(
        "winrm-credentials",
        "citrix",
        mgmt(endpoint="https://svc:Hunter2Pw@rras1.example.net/wsman"),
        "nodes[0].management.endpoint",
        hidden=("Hunter2Pw",),
    ),
    Row("winrm-ftp", "f5", mgmt(endpoint="ftp://rras1.example.net/wsman"), "nodes[0].management.endpoint"),
    Row("winrm-basic-http", "kemp", mgmt(endpoint="http://rras1.example.net/wsman"), "nodes[0].management"),
    Row(
        "winrm-fragment",
        "citrix",
        mgmt(endpoint="https://rras1.example.net/wsman#x"),
        "nodes[0].management.endpoint",
    ),
    Row("winrm-auth", "f5", mgmt(auth="digest"), "nodes[0].management.auth"),
    Row("winrm-partial", "f5", lambda d: (mgmt()(d), d["nodes"][1].pop("management")), "nodes"),
    # users, in each appliance's syntax
    Row("f5-user-empty", "f5", lb(user=""), "loadBalancer.user"),
    Row("f5-user-semicolon", "f5", lb(user="svc;reboot"), "loadBalancer.user"),
    Row("f5-user-quote", "f5", lb(user='svc"x'), "loadBalancer.user"),
    Row("f5-user-space", "f5", lb(user="svc aovpn"), "loadBalancer.user"),
    Row("f5-user-colon", "f5", lb(user="svc:x"), "loadBalancer.user"),
    Row("adc-user-space", "citrix", lb(user="svc x"), "loadBalancer.user"),
    Row("adc-user-semicolon", "citrix", lb(user="svc;x"), "loadBalancer.user"),
    Row("adc-user-quote", "citrix", lb(user="svc'x"), "loadBalancer.user"),
    Row("adc-user-empty", "citrix", lb(user=""), "loadBalancer.user"),
    Row("lm-user-colon", "kemp", lb(user="svc:x"), "loadBalancer.user"),
    Row("lm-user-space", "kemp", lb(user="svc x"), "loadBalancer.user"),
    Row("lm-user-long", "kemp", lb(user="a" * 65), "loadBalancer.user"),
    Row("lm-user-semicolon", "kemp", lb(user="svc;x"), "loadBalancer.user"),
    Row("winrm-user-empty", "f5", mgmt(user=""), "nodes[0].management.user"),
    Row("winrm-user-space", "citrix", mgmt(user="CORP\\svc x"), "nodes[0].management.user"),
    Row("winrm-user-semicolon", "kemp", mgmt(user="CORP\\svc;x"), "nodes[0].management.user"),
    Row("winrm-user-quote", "f5", mgmt(user='CORP\\"svc"'), "nodes[0].management.user"),
    Row("winrm-user-long", "f5", mgmt(user="CORP\\" + "a" * 21), "nodes[0].management.user"),
    # BIG-IP names, and vendor fields on their vendor only
    Row("f5-device-group-injection", "f5", lb(deviceGroup="dg; tmsh delete ltm"), "loadBalancer.deviceGroup"),
    Row("f5-device-group-space", "f5", lb(deviceGroup="dg vpn"), "loadBalancer.deviceGroup"),
    Row("f5-device-group-empty", "f5", lb(deviceGroup=""), "loadBalancer.deviceGroup"),
    Row("f5-partition-path", "f5", lb(partition="Common/../x"), "loadBalancer.partition"),
    Row("f5-partition-digit", "f5", lb(partition="1abc"), "loadBalancer.partition"),
    Row("f5-partition-quote", "f5", lb(partition='Com"mon'), "loadBalancer.partition"),
    Row("adc-partition", "citrix", lb(partition="Common"), "loadBalancer.partition"),
    Row("adc-device-group", "citrix", lb(deviceGroup="dg-vpn"), "loadBalancer.deviceGroup"),
    Row("lm-partition", "kemp", lb(partition="Common"), "loadBalancer.partition"),
    Row("lm-device-group", "kemp", lb(deviceGroup="dg-vpn"), "loadBalancer.deviceGroup"),
    # secret key names: a secret in the wrong place is never echoed
    Row(
        "key-password",
        "f5",
        lb(passwordSecret="Tr0ub4dor&3"),
        "loadBalancer.passwordSecret",
        hidden=("Tr0ub4dor",),
    ),
    Row(
        "key-pem",
        "kemp",
        lb(passwordSecret="-----BEGIN PRIVATE KEY-----"),
        "loadBalancer.passwordSecret",
        hidden=("BEGIN PRIVATE",),
    ),
    Row("key-empty", "citrix", lb(passwordSecret=""), "loadBalancer.passwordSecret"),
    Row(
        "key-space",
        "f5",
        mgmt(passwordSecret="pass word"),
        "nodes[0].management.passwordSecret",
        hidden=("pass word",),
    ),
    Row(
        "key-cert-pem",
        "f5",
        sstp(tlsOffload={**OFFLOAD, "certificateSecret": "-----BEGIN CERTIFICATE-----MIIB"}),
        "sstp.tlsOffload.certificateSecret",
        hidden=("MIIB",),
    ),
    Row(
        "key-random",
        "f5",
        sstp(tlsOffload={**OFFLOAD, "privateKeySecret": RANDOM}),
        "sstp.tlsOffload.privateKeySecret",
        hidden=(RANDOM[:20],),
    ),
    # the rest of the declaration
    Row("kind-unknown", "f5", lb(kind="a10"), "loadBalancer.kind"),
    Row("kind-int", "kemp", lb(kind=5), "loadBalancer.kind"),
    Row("name-space", "f5", top(name="Bad Name"), "name", label="Bad Name"),
    Row("name-short", "citrix", top(name="x"), "name", label="x"),
    Row("field-typo", "f5", top(persistanceTimeout=60), "persistanceTimeout"),
    Row("lb-field-typo", "kemp", lb(passsword="x"), "loadBalancer.passsword"),
    Row("weak-dh", "f5", top(ipsec={"dhGroup": "Group2"}), "ipsec.dhGroup"),
    Row("unknown-cipher", "citrix", top(ipsec={"encryptionMethod": "AES512"}), "ipsec.encryptionMethod"),
    Row(
        "gcm-mismatch",
        "f5",
        top(ipsec={"cipherTransformConstants": "GCMAES128"}),
        "ipsec.cipherTransformConstants/authenticationTransformConstants",
    ),
    Row("protocol-twice", "kemp", top(protocols=["ikev2", "ikev2"]), "protocols"),
    Row("protocol-unknown", "f5", top(protocols=["l2tp"]), "protocols"),
    Row("method-unknown", "citrix", top(loadBalancingMethod="random"), "loadBalancingMethod"),
    Row("client-address-case", "kemp", top(clientAddress="Preserved"), "clientAddress"),
    Row("sstp-host-name", "f5", sstp(hostName="bad host!"), "sstp.hostName"),
    Row("offload-without-sstp", "f5", top(sstp={"tlsOffload": OFFLOAD}), "sstp.tlsOffload"),
    Row("adc-timeout-minutes", "citrix", top(persistenceTimeout=90), "persistenceTimeout"),
    Row("lm-timeout-short", "kemp", top(persistenceTimeout=30), "persistenceTimeout"),
    Row(
        "initial-query-zero",
        "f5",
        top(ikeNumEstablishedForInitialQuery=0),
        "ikeNumEstablishedForInitialQuery",
    ),
    Row("lifetime-short", "kemp", top(ipsec={"saLifeTimeSeconds": 100}), "ipsec.saLifeTimeSeconds"),
    Row("ca-empty", "citrix", lb(caBundle=""), "loadBalancer.caBundle"),
    Row("sstp-port-range", "f5", sstp(port=70000), "sstp.port"),
    Row("ipsec-preset-unknown", "kemp", top(ipsec={"preset": "paranoid"}), "ipsec.preset"),
    Row("mm-lifetime-short", "f5", top(ipsec={"mmSaLifeTimeSeconds": 60}), "ipsec.mmSaLifeTimeSeconds"),
    Row("crl-check-string", "citrix", top(ikev2={"crlCheck": "yes"}), "ikev2.crlCheck"),
    Row(
        "root-thumbprint-short",
        "f5",
        top(ikev2={"rootCertificateThumbprint": "ABCDEF"}),
        "ikev2.rootCertificateThumbprint",
    ),
    Row("idle-timeout-low", "kemp", top(ikev2={"idleTimeoutMinutes": 1}), "ikev2.idleTimeoutMinutes"),
    Row("outage-decimal", "citrix", top(ikev2={"networkOutageMinutes": 2.5}), "ikev2.networkOutageMinutes"),
    Row("ikev2-typo", "f5", top(ikev2={"crlCheckk": True}), "ikev2.crlCheckk"),
    Row("tls-hardening-unknown", "f5", sstp(tlsHardening="max"), "sstp.tlsHardening"),
    Row("drain-timeout-string", "kemp", top(rras={"drainTimeoutSeconds": "300"}), "rras.drainTimeoutSeconds"),
    Row("on-remove-unknown", "citrix", top(rras={"onRemove": "delete"}), "rras.onRemove"),
    Row("kerberos-host-ntlm", "f5", mgmt(kerberosHostname="rras1.example.net"), "nodes[0].management"),
    Row(
        "jea-name-bad",
        "citrix",
        mgmt(configurationName="Aovpn Rras"),
        "nodes[0].management.configurationName",
    ),
    Row(
        "kerberos-host-bad",
        "kemp",
        mgmt(auth="kerberos", kerberosHostname="rras 1"),
        "nodes[0].management.kerberosHostname",
    ),
]

#: Rules across clusters: (id, vendor, first cluster's mutation, second's, the second's field).
CROSS: list[tuple[str, str, Mutate, Mutate, str]] = [
    (
        "same-vip",
        "f5",
        top(),
        lambda d: d.update(virtualAddress=d["_first"]["virtualAddress"]),
        "virtualAddress",
    ),
    (
        "same-vip-url-spelled-differently",
        "citrix",
        top(),
        both(url("{url}/"), lambda d: d.update(virtualAddress=d["_first"]["virtualAddress"])),
        "virtualAddress",
    ),
    (
        "node-reused",
        "kemp",
        top(),
        lambda d: d["nodes"][0].update(address=d["_first"]["nodes"][1]["address"]),
        "nodes[0].address",
    ),
    (
        "node-is-other-vip",
        "citrix",
        top(),
        lambda d: d["nodes"][1].update(address=d["_first"]["virtualAddress"]),
        "nodes[1].address",
    ),
    (
        "vip-is-other-node",
        "f5",
        top(),
        lambda d: d.update(virtualAddress=d["_first"]["nodes"][0]["address"]),
        "virtualAddress",
    ),
]


def assign(rows: list[Row], start: int) -> None:
    for k, row in enumerate(rows):
        row.index = start + k
        row.name = f"t{row.index:03d}-{row.id}"[:32].rstrip("-")


assign(ROWS, 1)
BATCHES = [ROWS[i : i + 15] for i in range(0, len(ROWS), 15)]


def base(index: int) -> Decl:
    """A valid cluster's own addresses: nothing two rows share."""
    return {
        "virtualAddress": f"10.{index}.0.10",
        "nodes": [
            {"name": "rras1", "address": f"10.{index}.1.11"},
            {"name": "rras2", "address": f"10.{index}.1.12"},
        ],
    }


def declare(
    twins: Twins, vendor: str, name: str, index: int, mutate: Mutate, extra: dict[str, Any] | None = None
) -> Decl:
    view = twins.views[vendor]
    decl = view.cluster({"name": name, **base(index)})
    decl.update({"_winrm": twins.winrm.url, "_ca": str(view.tls.ca_path), **(extra or {})})
    mutate(decl)
    for key in [k for k in decl if k.startswith("_")]:
        del decl[key]
    return decl


def secrets(twins: Twins) -> dict[str, str]:
    # Values long enough that the CLI's masking of secret values ("[secret]") cannot hit a message's words.
    out: dict[str, str] = {
        "rrasPassword": PASSWORD,
        "sstpCert": "sstp-certificate-value-0001",
        "sstpKey": "sstp-private-key-value-0001",
    }
    for view in twins.views.values():
        out.update(view.secrets())
    return out


def preview(
    project: Project, twins: Twins, stack: str, clusters: list[Decl], plain: dict[str, str] | None = None
) -> str:
    project.write_stack(stack, clusters, secrets(twins))
    for key, value in (plain or {}).items():
        project.pulumi("config", "set", f"aovpn:{key}", value, stack=stack, check=True)
    twins.mark()
    run = project.pulumi("preview", stack=stack)
    out = run.output
    assert run.exit_code != 0, out
    assert "Traceback" not in out, out
    assert twins.requests_since_mark() == dict.fromkeys(twins.all(), 0), out
    return out


def named(out: str, label: str, field_: str) -> bool:
    return f"cluster '{label}': {field_}: " in out


@pytest.mark.parametrize("batch", range(len(BATCHES)), ids=lambda b: f"batch{b + 1}")
def test_every_wrong_declaration_is_refused_at_preview(project: Project, twins: Twins, batch: int) -> None:
    rows = BATCHES[batch]
    clusters = [declare(twins, r.vendor, r.label or r.name, r.index, r.mutate) for r in rows]
    out = preview(project, twins, f"table{batch + 1}", clusters)
    missing = [r.id for r in rows if not named(out, r.label or r.name, r.field)]
    assert not missing, (missing, out)
    leaked = [(r.id, h) for r in rows for h in r.hidden if h in out]
    assert not leaked, (leaked, out)


def test_addresses_are_unique_per_appliance_naming_both_clusters(project: Project, twins: Twins) -> None:
    clusters: list[Decl] = []
    expected: list[tuple[str, str, str]] = []
    for k, (id_, vendor, first_m, second_m, field_) in enumerate(CROSS):
        index = 200 + 2 * k
        first = declare(twins, vendor, f"x{k}a-{id_}"[:32], index, first_m)
        second = declare(twins, vendor, f"x{k}b-{id_}"[:32], index + 1, second_m, {"_first": first})
        second.pop("_first", None)
        clusters += [first, second]
        expected.append((second["name"], field_, first["name"]))
    out = preview(project, twins, "cross", clusters)
    for second, field_, first in expected:
        line = next((ln for ln in out.splitlines() if f"cluster '{second}': {field_}: " in ln), "")
        assert f"cluster '{first}'" in line, (second, out)


def test_secret_keys_and_ca_files_are_checked_at_preview(
    project: Project, twins: Twins, tmp_path: Path
) -> None:
    not_pem = project.path / "not-a-ca.pem"
    not_pem.write_text("this is not a certificate\n")
    broken = project.path / "broken-ca.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    (project.path / "certs").mkdir(exist_ok=True)
    rows = [
        Row("secret-unset", "f5", lb(passwordSecret="f5Missing"), "loadBalancer.passwordSecret"),
        Row(
            "secret-plain",
            "kemp",
            lb(passwordSecret="lmPlain"),
            "loadBalancer.passwordSecret",
            hidden=("plain-pw-value",),
        ),
        Row(
            "secret-looking-name",
            "citrix",
            lb(passwordSecret="Passw0rd"),
            "loadBalancer.passwordSecret",
            hidden=("Passw0rd",),
        ),
        Row(
            "winrm-secret-unset",
            "f5",
            mgmt(passwordSecret="rrasMissing"),
            "nodes[0].management.passwordSecret",
        ),
        Row(
            "cert-unset",
            "f5",
            sstp(tlsOffload={**OFFLOAD, "certificateSecret": "certMissing"}),
            "sstp.tlsOffload.certificateSecret",
        ),
        Row(
            "key-plain",
            "kemp",
            sstp(tlsOffload={**OFFLOAD, "privateKeySecret": "keyPlain"}),
            "sstp.tlsOffload.privateKeySecret",
            hidden=("plain-key-value",),
        ),
        Row("ca-missing", "f5", lb(caBundle=str(tmp_path / "nope.pem")), "loadBalancer.caBundle"),
        Row("ca-relative-missing", "citrix", lb(caBundle="certs/none.pem"), "loadBalancer.caBundle"),
        Row("ca-not-pem", "kemp", lb(caBundle="not-a-ca.pem"), "loadBalancer.caBundle"),
        Row("ca-directory", "f5", lb(caBundle="certs"), "loadBalancer.caBundle"),
        Row("ca-broken-pem", "citrix", lb(caBundle=str(broken)), "loadBalancer.caBundle"),
        Row(
            "winrm-ca-missing",
            "kemp",
            mgmt(caBundle=str(tmp_path / "nope.pem")),
            "nodes[0].management.caBundle",
        ),
    ]
    assign(rows, 300)
    clusters = [declare(twins, r.vendor, r.name, r.index - 100, r.mutate) for r in rows]
    out = preview(
        project,
        twins,
        "secrets",
        clusters,
        plain={"lmPlain": "plain-pw-value", "keyPlain": "plain-key-value"},
    )
    missing = [r.id for r in rows if not named(out, r.name, r.field)]
    assert not missing, (missing, out)
    leaked = [(r.id, h) for r in rows for h in r.hidden if h in out]
    assert not leaked, (leaked, out)
    assert "pulumi config set --secret aovpn:lmPlain" in out
    assert f"resolved against the project directory: {project.path / 'certs' / 'none.pem'}" in out


def test_clusters_that_are_not_a_list_and_a_broken_stack_file(project: Project, twins: Twins) -> None:
    """Both are refused by the CLI itself (Pulumi.yaml types aovpn:clusters; the CLI parses the stack file),
    by line for a YAML error, without a traceback and without a request."""
    project.write_stack("shape", [], secrets(twins))
    stack_file = project.path / "stacks" / "Pulumi.shape.yaml"
    text = stack_file.read_text().replace("aovpn:clusters: []", "aovpn:clusters: not-a-list")
    stack_file.write_text(text)
    twins.mark()
    run = project.pulumi("preview", stack="shape")
    assert run.exit_code != 0 and "'clusters' must be of type 'array<object>'" in run.output, run.output
    assert "Traceback" not in run.output
    stack_file.write_text(text.replace("aovpn:clusters: not-a-list", "aovpn:clusters: [ {name: x"))
    run = project.pulumi("preview", stack="shape")
    assert run.exit_code != 0 and "Traceback" not in run.output, run.output
    assert re.search(r"line \d+", run.output), run.output
    assert twins.requests_since_mark() == dict.fromkeys(twins.all(), 0)


def test_the_table_is_large_enough() -> None:
    assert len(ROWS) + len(CROSS) + 12 >= 100
