"""Every mistake is refused at preview, naming cluster and field: strict types, host addresses, bare URLs,
user and object names in each appliance's syntax, vendor-specific fields on their vendor only, addresses
unique per appliance, and the secret keys and CA files the declaration names (components/preflight.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components import preflight
from components.declaration import parse_clusters
from components.f5 import BigIpLoadBalancer
from tests.unit.support import BASE, cluster, problems

LB = BASE["loadBalancer"]


def managed(**changes: Any) -> list[dict[str, Any]]:
    mgmt = {
        "endpoint": "https://rras1.corp.example:5986/wsman",
        "user": "CORP\\svc-aovpn",
        "passwordSecret": "rrasPassword",
    }
    return [{"name": "rras1", "address": "198.51.100.11", "management": {**mgmt, **changes}}]


def only(decl: dict[str, Any]) -> str:
    (msg,) = problems([decl])
    return msg


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"persistenceTimeout": True}, "persistenceTimeout", "must be a whole number, got a boolean"),
        ({"persistenceTimeout": "60"}, "persistenceTimeout", "must be a whole number, got a string"),
        ({"persistenceTimeout": 60.0}, "persistenceTimeout", "must be a whole number, got a decimal"),
        ({"sstp": {"port": True}}, "sstp.port", "got a boolean"),
        ({"sstp": {"port": "443"}}, "sstp.port", "got a string"),
        ({"allowWeakCrypto": "yes"}, "allowWeakCrypto", "must be true or false, got a string"),
        ({"ikev2Fragmentation": 1}, "ikev2Fragmentation", "must be true or false, got a whole number"),
        ({"ipsec": {"saLifeTimeSeconds": "28800"}}, "ipsec.saLifeTimeSeconds", "got a string"),
        ({"ikeNumEstablishedForInitialQuery": False}, "ikeNumEstablishedForInitialQuery", "got a boolean"),
        ({"name": 42}, "name", "must be a string, got a whole number"),
        ({"virtualAddress": 3405803786}, "virtualAddress", "must be a string"),
    ],
)
def test_types_are_strict(changes, field, words):
    msg = only(cluster(**changes))
    assert msg.split(": ", 2)[1] == field and words in msg, msg


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "255.255.255.255",
        "169.254.10.1",
        "0.1.2.3",
        "240.0.0.1",
        "224.0.0.5",
        "::1",
        "fe80::1",
        "ff02::1",
        "::ffff:203.0.113.1",
    ],
)
def test_non_host_addresses_are_neither_vip_nor_node(address):
    assert "virtualAddress:" in only(cluster(virtualAddress=address))
    msg = only(cluster(nodes=[{"name": "rras1", "address": address}], virtualAddress="203.0.113.10"))
    assert "nodes[0].address:" in msg


@pytest.mark.parametrize(
    "url",
    [
        "https://bigip.example.net/../..",
        "https://bigip.example.net/mgmt",
        "https://bigip.example.net?cmd=delvs",
        "https://bigip.example.net/?",
        "https://bigip.example.net#frag",
        "https://bigip.example.net:",
        "https://bigip example.net",
        "https://bigip_example.net",
        "https://[not-v6]",
        "https://",
        "ftp://bigip.example.net",
        "https://bigip.example.net:99999",
    ],
)
def test_load_balancer_url_is_scheme_host_and_port_only(url):
    msg = only(cluster(loadBalancer={**LB, "url": url}))
    assert msg.startswith("cluster 'vpn-east': loadBalancer.url: ")
    assert "cmd=delvs" not in msg and "#frag" not in msg


def test_bare_urls_pass_and_are_normalised():
    (c,) = parse_clusters([cluster(loadBalancer={**LB, "url": "https://10.0.0.5:8443/"})])
    assert c.load_balancer.url == "https://10.0.0.5:8443"
    (c,) = parse_clusters([cluster(loadBalancer={**LB, "url": "https://[2001:db8::5]"})])
    assert c.load_balancer.url == "https://[2001:db8::5]"


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://rras1/wsman?x=1",
        "https://rras1/../wsman",
        "https://rras1/ws%2fman",
        "https://rras1/wsman#a",
        "ftp://rras1/wsman",
        "https://u:p@rras1/wsman",
    ],
)
def test_winrm_endpoint_is_host_port_and_plain_path(endpoint):
    msg = only(cluster(nodes=managed(endpoint=endpoint)))
    assert "nodes[0].management.endpoint:" in msg and ":p@" not in msg


def test_winrm_endpoint_forms_the_adapter_accepts():
    for endpoint in (
        "https://rras1:5986/wsman",
        "https://127.0.0.1:5986/rras1/wsman",
        "http://rras1",
        "https://rras1/",
    ):
        parse_clusters([cluster(nodes=managed(endpoint=endpoint, auth="ntlm"))])


@pytest.mark.parametrize(
    ("kind", "user"),
    [
        ("f5", ""),
        ("f5", "svc;reboot"),
        ("f5", 'svc"x'),
        ("f5", "svc aovpn"),
        ("f5", "svc:aovpn"),
        ("f5", "-svc"),
        ("citrix", "svc aovpn"),
        ("citrix", "svc;x"),
        ("citrix", "svc'x"),
        ("kemp", "svc:x"),
        ("kemp", "svc x"),
        ("kemp", "a" * 65),
    ],
)
def test_load_balancer_users_in_each_appliances_syntax(kind, user):
    msg = only(cluster(loadBalancer={**LB, "kind": kind, "user": user}))
    assert msg.startswith("cluster 'vpn-east': loadBalancer.user: ")


@pytest.mark.parametrize(
    ("kind", "user"), [("f5", "svc.aovpn@corp"), ("citrix", "svc#1:x=y"), ("kemp", "1svc/~^+=")]
)
def test_load_balancer_users_each_appliance_accepts(kind, user):
    parse_clusters([cluster(loadBalancer={**LB, "kind": kind, "user": user})])


@pytest.mark.parametrize(
    "user",
    [
        "",
        "CORP\\svc aovpn",
        "CORP\\svc;x",
        'CORP\\"svc"',
        "CORP\\a/b",
        "CORP\\" + "a" * 21,
        "svc.",
        "a@b@c",
        "TOOLONGNETBIOSNAME1\\svc",
    ],
)
def test_winrm_users_are_windows_account_names(user):
    assert "nodes[0].management.user:" in only(cluster(nodes=managed(user=user)))


@pytest.mark.parametrize("user", ["CORP\\svc-aovpn", "svc-aovpn@corp.example", "automation", ".\\admin"])
def test_winrm_user_forms(user):
    parse_clusters([cluster(nodes=managed(user=user))])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deviceGroup", "dg; tmsh delete"),
        ("deviceGroup", "dg vpn"),
        ("deviceGroup", ""),
        ("partition", "Common/../x"),
        ("partition", "1abc"),
    ],
)
def test_f5_partition_and_device_group_are_one_token(field, value):
    msg = only(cluster(loadBalancer={**LB, field: value}))
    assert msg.startswith(f"cluster 'vpn-east': loadBalancer.{field}: ")


@pytest.mark.parametrize("kind", ["citrix", "kemp"])
@pytest.mark.parametrize("field", ["partition", "deviceGroup"])
def test_vendor_fields_only_on_their_vendor(kind, field):
    msg = only(cluster(loadBalancer={**LB, "kind": kind, field: "Common"}))
    assert msg == (
        f"cluster 'vpn-east': loadBalancer.{field}: is not a field of a {kind} load balancer; "
        "it is a field of: f5 (nothing ignored)"
    )


def test_f5_declaration_is_the_f5_model():
    (c,) = parse_clusters([cluster(loadBalancer={**LB, "deviceGroup": "dg-vpn"})])
    assert isinstance(c.load_balancer, BigIpLoadBalancer) and c.load_balancer.device_group == "dg-vpn"
    (c,) = parse_clusters([cluster(loadBalancer={**LB, "kind": "kemp"})])
    assert not hasattr(c.load_balancer, "partition")


@pytest.mark.parametrize("key", ["Tr0ub4dor&3", "-----BEGIN PRIVATE KEY-----", "pass word", "a" * 65, ""])
def test_invalid_key_names_are_never_echoed(key):
    msg = only(cluster(loadBalancer={**LB, "passwordSecret": key}))
    assert msg.startswith("cluster 'vpn-east': loadBalancer.passwordSecret: is not a config key name")
    assert (key not in msg) if key else True


def test_addresses_are_unique_per_appliance_naming_both_clusters():
    west = cluster(name="vpn-west", loadBalancer={**LB, "url": "https://BIGIP.example.net:443/"})
    msgs = problems([cluster(), west])
    assert msgs[0].startswith(
        "cluster 'vpn-west': virtualAddress: 203.0.113.10 is already the virtual address of "
        "cluster 'vpn-east'"
    )
    assert any(
        m.startswith(
            "cluster 'vpn-west': nodes[0].address: 198.51.100.11 is already node rras1 of cluster 'vpn-east'"
        )
        for m in msgs
    )
    vip_as_node = cluster(
        name="vpn-west", virtualAddress="203.0.113.20", nodes=[{"name": "rras9", "address": "203.0.113.10"}]
    )
    (msg,) = problems([cluster(), vip_as_node])
    assert "nodes[0].address: 203.0.113.10 is already the virtual address of cluster 'vpn-east'" in msg
    # another appliance: the same addresses are its own
    parse_clusters(
        [cluster(), cluster(name="vpn-west", loadBalancer={**LB, "url": "https://other.example.net"})]
    )


def test_clusters_config_that_is_not_json_is_a_problem_not_a_crash():
    class Bad:
        def get_object(self, key: str) -> Any:
            raise ValueError("Expecting value")

    with pytest.raises(Exception) as info:
        preflight.stack_clusters(Bad())  # type: ignore[arg-type]
    assert "aovpn:clusters: must be a list" in str(info.value)


# --- secrets and CA files (components/preflight.py) -------------------------------------------------------


def secrets_of(decl: dict[str, Any], config: dict[str, str], secret: set[str]) -> list[str]:
    clusters = parse_clusters([decl])
    return preflight.secret_problems(clusters, config.get, secret.__contains__)


def offload(**changes: Any) -> dict[str, Any]:
    tls = {"certificateSecret": "sstpCert", "privateKeySecret": "sstpKey"}
    return cluster(protocols=["sstp"], sstp={"tlsOffload": tls}, nodes=managed(), **changes)


def test_every_named_secret_must_be_set():
    msgs = secrets_of(offload(), {}, set())
    fields = [m.split(": ")[1] for m in msgs]
    assert fields == [
        "loadBalancer.passwordSecret",
        "nodes[0].management.passwordSecret",
        "sstp.tlsOffload.certificateSecret",
        "sstp.tlsOffload.privateKeySecret",
    ]
    assert msgs[0] == (
        "cluster 'vpn-east': loadBalancer.passwordSecret: the key aovpn:f5Password is not set in the stack "
        "config; set it with `pulumi config set --secret aovpn:f5Password` (the value on standard input)"
    )


def test_a_secret_set_in_clear_text_is_refused_without_its_value():
    config = {
        "aovpn:f5Password": "hunter2-plain",
        "aovpn:rrasPassword": "x",
        "aovpn:sstpCert": "c",
        "aovpn:sstpKey": "k",
    }
    (msg,) = secrets_of(offload(), config, {"aovpn:rrasPassword", "aovpn:sstpCert", "aovpn:sstpKey"})
    assert msg.startswith(
        "cluster 'vpn-east': loadBalancer.passwordSecret: the key aovpn:f5Password is set in clear text"
    )
    assert "pulumi config set --secret aovpn:f5Password" in msg and "hunter2" not in msg


def test_a_key_name_that_looks_like_a_secret_is_not_shown():
    (msg,) = secrets_of(cluster(loadBalancer={**LB, "passwordSecret": "Passw0rd"}), {}, set())
    assert "Passw0rd" not in msg and "aovpn:<key>" in msg
    assert not preflight.looks_like_a_secret("f5Password") and not preflight.looks_like_a_secret(
        "rras1Password"
    )
    assert preflight.looks_like_a_secret("xK9mP2qR7vL4nW8z")


def test_ca_bundles_must_exist_and_hold_pem_certificates(tmp_path: Path, tls: Any):
    (tmp_path / "empty.pem").write_text("not a certificate\n")
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    (tmp_path / "certs").mkdir()
    good = str(tls.ca_path)
    cases = {
        "missing.pem": "does not exist",
        "empty.pem": "holds no PEM certificate",
        "broken.pem": "does not parse as an X.509 certificate",
        "certs": "is a directory",
    }
    for path, words in cases.items():
        decl = cluster(loadBalancer={**LB, "caBundle": path}, nodes=managed(caBundle=good))
        (msg,) = preflight.ca_problems(parse_clusters([decl]), tmp_path)
        assert msg.startswith(
            f"cluster 'vpn-east': loadBalancer.caBundle: {path} "
            f"(resolved against the project directory: {tmp_path / path})"
        )
        assert words in msg
    decl = cluster(loadBalancer={**LB, "caBundle": good}, nodes=managed(caBundle=str(tmp_path / "nope.pem")))
    (msg,) = preflight.ca_problems(parse_clusters([decl]), tmp_path)
    assert msg.startswith("cluster 'vpn-east': nodes[0].management.caBundle: ") and "does not exist" in msg


def test_an_empty_ca_bundle_is_refused():
    msg = only(cluster(loadBalancer={**LB, "caBundle": ""}))
    assert msg.startswith("cluster 'vpn-east': loadBalancer.caBundle: must name a PEM file")


def test_a_yaml_error_in_the_stack_file_is_reported_by_line_before_the_twins_start(tmp_path: Path):
    from emulators.launcher import stack_file_problem

    stack = tmp_path / "Pulumi.local.yaml"
    stack.write_text("config:\n  aovpn:clusters:\n    - name: vpn\n      nodes: [ {name: rras1\n")
    problem = stack_file_problem(stack)
    assert problem is not None and problem.startswith("Pulumi.local.yaml: line ")
    assert "Traceback" not in problem
    stack.write_text("config:\n  aovpn:clusters: []\n")
    assert stack_file_problem(stack) is None
