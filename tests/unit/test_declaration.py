"""The declaration is validated before anything is sent: every message names cluster, field, allowed."""

from __future__ import annotations

import pytest

from components.declaration import parse_clusters
from tests.unit.support import BASE, cluster, problems


def test_defaults_follow_the_minimum_baseline():
    (c,) = parse_clusters([cluster()])
    assert c.ipsec.as_cmdlet_parameters() == {
        "EncryptionMethod": "AES128",
        "IntegrityCheckMethod": "SHA256",
        "CipherTransformConstants": "AES128",
        "AuthenticationTransformConstants": "SHA256128",
        "DHGroup": "Group14",
        "PfsGroup": "PFS2048",
        "SALifeTimeSeconds": 28800,
        "MMSALifeTimeSeconds": 86400,
        "SADataSizeForRenegotiationKilobytes": 1024000,
    }
    assert c.ipsec.preset == "baseline" and c.ipsec.needs_build() is None
    assert c.client_address == "preserved"
    assert c.ikev2_fragmentation is True
    assert c.load_balancer.partition == "Common"


def test_enum_spelling_is_case_insensitive_and_canonicalised():
    (c,) = parse_clusters([cluster(ipsec={"dhGroup": "group14", "encryptionMethod": "aes256"})])
    assert (c.ipsec.dh_group, c.ipsec.encryption_method) == ("Group14", "AES256")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("encryptionMethod", "DES"),
        ("encryptionMethod", "DES3"),
        ("integrityCheckMethod", "MD5"),
        ("integrityCheckMethod", "SHA1"),
        ("dhGroup", "Group1"),
        ("dhGroup", "Group2"),
        ("pfsGroup", "PFS1"),
        ("pfsGroup", "PFS2"),
    ],
)
def test_weak_crypto_is_refused_unless_allowed(field, value):
    (msg,) = problems([cluster(ipsec={field: value})])
    assert msg.startswith(f"cluster 'vpn-east': ipsec.{field}: {value} is weak crypto; use one of")
    assert "allowWeakCrypto: true" in msg
    (c,) = parse_clusters([cluster(ipsec={field: value}, allowWeakCrypto=True)])
    assert c.allow_weak_crypto


@pytest.mark.parametrize("field", ["dhGroup", "pfsGroup", "cipherTransformConstants"])
def test_none_is_refused_even_with_weak_crypto_allowed_because_clients_cannot_express_it(field):
    msgs = problems([cluster(ipsec={field: "None"})])
    assert msgs[0].startswith(f"cluster 'vpn-east': ipsec.{field}: None is weak crypto")
    (msg,) = problems([cluster(ipsec={field: "None"}, allowWeakCrypto=True)])
    assert msg.startswith(f"cluster 'vpn-east': ipsec.{field}: None cannot be expressed in the Always On VPN")


def test_unknown_vendor_names_the_allowed_kinds():
    (msg,) = problems([cluster(loadBalancer={**BASE["loadBalancer"], "kind": "a10"})])
    assert msg == (
        "cluster 'vpn-east': loadBalancer.kind: 'a10' is not a valid load balancer kind; "
        "allowed: f5, citrix, kemp"
    )


def test_malformed_and_duplicate_addresses_and_names():
    msgs = problems(
        [
            cluster(
                nodes=[
                    {"name": "rras1", "address": "198.51.100.300"},
                    {"name": "rras2", "address": "198.51.100.12"},
                    {"name": "RRAS2", "address": "198.51.100.12"},
                ]
            )
        ]
    )
    assert msgs == ["cluster 'vpn-east': nodes[0].address: '198.51.100.300' is not an IPv4 or IPv6 address"]
    msgs = problems(
        [
            cluster(
                nodes=[
                    {"name": "rras2", "address": "198.51.100.12"},
                    {"name": "RRAS2", "address": "198.51.100.12"},
                ]
            )
        ]
    )
    assert msgs == [
        "cluster 'vpn-east': nodes[1].name: 'RRAS2' is declared twice",
        "cluster 'vpn-east': nodes[1].address: 198.51.100.12 is declared twice",
    ]


def test_empty_node_list_is_refused():
    (msg,) = problems([cluster(nodes=[])])
    assert msg == "cluster 'vpn-east': nodes: must list at least one RRAS node"


def test_ports_out_of_range():
    (msg,) = problems([cluster(sstp={"port": 70000})])
    assert msg == "cluster 'vpn-east': sstp.port: port 70000 is outside 1-65535"
    (msg,) = problems([cluster(loadBalancer={**BASE["loadBalancer"], "url": "https://bigip:0"})])
    assert "loadBalancer.url" in msg and "port outside 1-65535" in msg


def test_management_url_must_be_https_and_carry_no_credentials():
    (msg,) = problems([cluster(loadBalancer={**BASE["loadBalancer"], "url": "http://bigip"})])
    assert "loadBalancer.url" in msg and "must be an https:// URL" in msg
    (msg,) = problems([cluster(loadBalancer={**BASE["loadBalancer"], "url": "https://admin:pw@bigip"})])
    assert "must not carry credentials" in msg and "pw" not in msg.replace("passwordSecret", "")


def test_gcm_must_be_symmetric_on_esp():
    (msg,) = problems([cluster(ipsec={"cipherTransformConstants": "GCMAES128"})])
    assert "AES-GCM must be used for both ESP encryption and integrity" in msg
    (c,) = parse_clusters(
        [
            cluster(
                ipsec={
                    "cipherTransformConstants": "GCMAES256",
                    "authenticationTransformConstants": "GCMAES256",
                }
            )
        ]
    )
    assert c.ipsec.cipher_transform_constants == "GCMAES256"


def test_lifetimes_outside_what_rras_accepts():
    msgs = problems([cluster(ipsec={"saLifeTimeSeconds": 299, "saDataSizeForRenegotiationKilobytes": 1000})])
    assert msgs == [
        "cluster 'vpn-east': ipsec.saLifeTimeSeconds: 299 is outside the range RRAS accepts "
        "(300-17279999 seconds)",
        "cluster 'vpn-east': ipsec.saDataSizeForRenegotiationKilobytes: 1000 is below the minimum "
        "RRAS accepts (1024 KB)",
    ]


def test_typos_are_reported_not_ignored():
    (msg,) = problems([cluster(persistanceTimeout=60)])
    assert msg.startswith("cluster 'vpn-east': persistanceTimeout: is not a known field")


def test_duplicate_cluster_names_and_shared_virtual_address():
    msgs = problems([cluster(), cluster()])
    assert "cluster 'vpn-east': name: declared more than once; cluster names must be unique" in msgs
    assert any(
        "virtualAddress: 203.0.113.10 is already the virtual address of cluster 'vpn-east'" in m for m in msgs
    )


def test_every_problem_of_every_cluster_at_once():
    msgs = problems([cluster(nodes=[]), {"name": "Bad Name"}, "not-a-mapping"])
    assert len(msgs) >= 5
    assert msgs[0].startswith("cluster 'vpn-east'")
    assert any(m.startswith("cluster 'Bad Name': name:") for m in msgs)
    assert any(m.startswith("cluster #3 (no valid name): must be a mapping") for m in msgs)


def test_mixed_address_families_are_refused():
    (msg,) = problems([cluster(nodes=[{"name": "rras1", "address": "2001:db8::11"}])])
    assert "nodes[0].address: 2001:db8::11 is IPv6 but the virtual address is IPv4" in msg


def test_the_enhanced_preset_fills_what_is_not_declared_and_needs_build_17134():
    (c,) = parse_clusters([cluster(ipsec={"preset": "Enhanced", "pfsGroup": "PFS2048"})])
    params = c.ipsec.as_cmdlet_parameters()
    assert params["EncryptionMethod"] == params["CipherTransformConstants"] == "GCMAES128"
    assert params["AuthenticationTransformConstants"] == "GCMAES128"
    assert params["PfsGroup"] == "PFS2048"  # declared explicitly: the preset does not override it
    assert c.ipsec.preset == "enhanced" and c.ipsec.needs_build() == 17134
    (msg,) = problems([cluster(ipsec={"preset": "paranoid"})])
    assert "ipsec.preset" in msg and "baseline, enhanced" in msg


def test_an_explicit_old_data_size_is_kept():
    (c,) = parse_clusters([cluster(ipsec={"saDataSizeForRenegotiationKilobytes": 102400})])
    assert c.ipsec.sa_data_size_for_renegotiation_kilobytes == 102400


def test_ikev2_node_settings_are_validated():
    (c,) = parse_clusters(
        [cluster(ikev2={"crlCheck": True, "rootCertificateThumbprint": "ab" * 20, "idleTimeoutMinutes": 5})]
    )
    assert c.ikev2.crl_check and c.ikev2.root_certificate_thumbprint == "AB" * 20
    assert c.ikev2.idle_timeout_minutes == 5 and c.ikev2.network_outage_minutes is None
    (msg,) = problems([cluster(ikev2={"rootCertificateThumbprint": "not-a-thumbprint"})])
    assert "ikev2.rootCertificateThumbprint" in msg and "40 hexadecimal digits" in msg
    (msg,) = problems([cluster(ikev2={"idleTimeoutMinutes": 1})])
    assert "ikev2.idleTimeoutMinutes" in msg and "5-" in msg
    (msg,) = problems([cluster(ikev2={"networkOutageMinutes": 1})])
    assert "ikev2.networkOutageMinutes" in msg and "2-" in msg
    (msg,) = problems([cluster(protocols=["sstp"], ikev2={"crlCheck": True})])
    assert "ikev2.crlCheck: declared, but protocols does not list ikev2" in msg


def test_node_operations_and_tls_hardening():
    (c,) = parse_clusters([cluster()])
    assert (c.rras.drain_timeout_seconds, c.rras.on_remove, c.sstp.tls_hardening) == (300, "keep", "off")
    (c,) = parse_clusters([cluster(rras={"drainTimeoutSeconds": 0, "onRemove": "Revert"})])
    assert (c.rras.drain_timeout_seconds, c.rras.on_remove) == (0, "revert")
    (msg,) = problems([cluster(rras={"onRemove": "delete"})])
    assert "rras.onRemove" in msg and "keep, revert" in msg
    (msg,) = problems([cluster(rras={"drainTimeoutSeconds": 90000})])
    assert "rras.drainTimeoutSeconds" in msg
    (msg,) = problems([cluster(sstp={"tlsHardening": "performance"})])
    assert "sstp.tlsHardening: declared, but protocols does not list sstp" in msg


def test_kerberos_hostname_only_with_kerberos_or_negotiate():
    def managed(**management: object) -> dict[str, object]:
        endpoint = {"endpoint": "https://192.0.2.10:5986/wsman", "user": "CORP\\svc", "passwordSecret": "w"}
        node = {"name": "rras1", "address": "192.0.2.10", "management": endpoint | management}
        return cluster(nodes=[node])

    (c,) = parse_clusters([managed(auth="negotiate", kerberosHostname="rras1.corp.example")])
    assert c.nodes[0].management is not None
    assert c.nodes[0].management.kerberos_hostname == "rras1.corp.example"
    (msg,) = problems([managed(kerberosHostname="rras1.corp.example")])
    assert "nodes[0].management" in msg and "only used with auth kerberos or negotiate, not ntlm" in msg
    (msg,) = problems([managed(auth="kerberos", kerberosHostname="rras 1")])
    assert "kerberosHostname" in msg and "DNS host name" in msg
