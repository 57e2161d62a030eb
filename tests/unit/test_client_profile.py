"""The client profile is generated from the same policy as the servers, in the client's spelling."""

from __future__ import annotations

import itertools

import pytest
from defusedxml.ElementTree import fromstring

from components import declaration as d
from components.client_profile import (
    ClientProfileError,
    csp_cryptography_suite,
    native_profile_xml,
    vpn_connection_ipsec_parameters,
)
from components.declaration import IpsecPolicy

# The VPNv2 CSP value sets (docs/rras.md#cryptographysuite-values).
CSP_VALUES = {
    "AuthenticationTransformConstants": {
        "MD596",
        "SHA196",
        "SHA256128",
        "GCMAES128",
        "GCMAES192",
        "GCMAES256",
    },
    "CipherTransformConstants": {
        "DES",
        "DES3",
        "AES128",
        "AES192",
        "AES256",
        "GCMAES128",
        "GCMAES192",
        "GCMAES256",
    },
    "EncryptionMethod": {"DES", "DES3", "AES128", "AES192", "AES256", "AES_GCM_128", "AES_GCM_256"},
    "IntegrityCheckMethod": {"MD5", "SHA196", "SHA256", "SHA384"},
    "DHGroup": {"Group1", "Group2", "Group14", "ECP256", "ECP384", "Group24"},
    "PfsGroup": {"PFS1", "PFS2", "PFS2048", "ECP256", "ECP384", "PFSMM", "PFS24"},
}


def test_default_policy_fragment():
    xml = native_profile_xml(IpsecPolicy())
    assert xml == (
        "<NativeProfile><NativeProtocolType>IKEv2</NativeProtocolType><CryptographySuite>"
        "<AuthenticationTransformConstants>SHA256128</AuthenticationTransformConstants>"
        "<CipherTransformConstants>AES128</CipherTransformConstants>"
        "<EncryptionMethod>AES128</EncryptionMethod>"
        "<IntegrityCheckMethod>SHA256</IntegrityCheckMethod>"
        "<DHGroup>Group14</DHGroup><PfsGroup>PFS2048</PfsGroup>"
        "</CryptographySuite></NativeProfile>"
    )


def test_gcm_and_sha1_use_the_client_spelling():
    policy = IpsecPolicy(
        encryption_method="GCMAES256",
        integrity_check_method="SHA1",
        cipher_transform_constants="GCMAES256",
        authentication_transform_constants="GCMAES256",
        dh_group="ECP384",
        pfs_group="ECP384",
    )
    suite = csp_cryptography_suite(policy)
    assert suite["EncryptionMethod"] == "AES_GCM_256"
    assert suite["IntegrityCheckMethod"] == "SHA196"
    params = vpn_connection_ipsec_parameters(policy)
    assert params["EncryptionMethod"] == "GCMAES256" and params["IntegrityCheckMethod"] == "SHA1"


def test_every_supported_policy_combination_maps_correctly():
    """All combinations the declaration accepts (weak crypto allowed) map to valid CSP values, with
    IKEv2 as the protocol, and back to the server values the cmdlets were given."""
    reverse_enc = {"AES_GCM_128": "GCMAES128", "AES_GCM_256": "GCMAES256"}
    reverse_int = {"SHA196": "SHA1"}
    checked = 0
    for enc, integ, dh, cipher, auth, pfs in itertools.product(
        d.ENCRYPTION_METHODS,
        d.INTEGRITY_CHECK_METHODS,
        d.DH_GROUPS,
        d.CIPHER_TRANSFORMS,
        d.AUTH_TRANSFORMS,
        d.PFS_GROUPS,
    ):
        policy = IpsecPolicy.model_construct(
            encryption_method=enc,
            integrity_check_method=integ,
            dh_group=dh,
            cipher_transform_constants=cipher,
            authentication_transform_constants=auth,
            pfs_group=pfs,
            sa_life_time_seconds=28800,
            sa_data_size_for_renegotiation_kilobytes=102400,
        )
        if d._ipsec_problems(policy, allow_weak=True):
            with pytest.raises(ClientProfileError) if "None" in (dh, cipher, auth, pfs) else _no_error():
                csp_cryptography_suite(policy)
            continue
        suite = csp_cryptography_suite(policy)
        for name, value in suite.items():
            assert value in CSP_VALUES[name], (name, value)
        assert reverse_enc.get(suite["EncryptionMethod"], suite["EncryptionMethod"]) == enc
        assert reverse_int.get(suite["IntegrityCheckMethod"], suite["IntegrityCheckMethod"]) == integ
        assert (suite["DHGroup"], suite["PfsGroup"]) == (dh, pfs)
        assert (suite["CipherTransformConstants"], suite["AuthenticationTransformConstants"]) == (
            cipher,
            auth,
        )
        params = vpn_connection_ipsec_parameters(policy)
        assert params == {
            "AuthenticationTransformConstants": auth,
            "CipherTransformConstants": cipher,
            "EncryptionMethod": enc,
            "IntegrityCheckMethod": integ,
            "PfsGroup": pfs,
            "DHGroup": dh,
        }
        checked += 1
    assert checked > 10000  # the space really was walked


def test_fragment_is_well_formed_and_ikev2_whenever_a_suite_is_present():
    root = fromstring(native_profile_xml(IpsecPolicy(pfs_group="ECP256")))
    assert root.findtext("NativeProtocolType") == "IKEv2"
    assert [e.tag for e in root.find("CryptographySuite")] == list(CSP_VALUES)


class _no_error:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_profile_warning_names_only_what_clients_carry(monkeypatch):
    """A policy change warns that clients need the new profile only when the CryptographySuite changes: SA
    lifetimes and data sizes are local to each side (RFC 7296 section 2.8)."""
    from providers.rras import objects

    told: list[str] = []
    monkeypatch.setattr(objects, "warn_once", lambda _key, message: told.append(message))
    base = {
        "cluster": "vpn",
        "load_balancer": {"kind": "f5", "url": "https://bigip"},
        "virtual_address": "192.0.2.10",
        "policy": {"EncryptionMethod": "AES128", "DHGroup": "Group14", "SALifeTimeSeconds": 28800},
    }
    provider = objects.ClientProfileProvider()
    lifetimes = {**base, "policy": {**base["policy"], "SALifeTimeSeconds": 14400}}
    assert provider.diff("id", base, lifetimes).changes is None  # still an update of the record
    assert told == []
    crypto = {**lifetimes, "policy": {**lifetimes["policy"], "DHGroup": "ECP384"}}
    provider.diff("id", base, crypto)
    (message,) = told
    assert "DHGroup Group14 -> ECP384" in message and "SALifeTime" not in message and "13868" in message
