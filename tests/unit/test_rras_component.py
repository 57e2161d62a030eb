"""The RRAS part of VpnCluster: a resource per node setting, then a chained restart per node (mocks)."""

from __future__ import annotations

from typing import Any

import pulumi

from tests.unit.support import BASE, build_objects, cluster

MGMT = {"endpoint": "https://127.0.0.1:5986/wsman", "user": "LAB\\svc", "passwordSecret": "rrasPassword"}


def managed_nodes() -> list[dict[str, Any]]:
    return [{**n, "management": MGMT} for n in BASE["nodes"]]


@pulumi.runtime.test
def test_ikev2_node_settings_and_rolling_restart(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        policy = objs["vpn-east-rras1-ipsec-policy"]
        assert policy["policy"]["DHGroup"] == "Group14" and policy["policy"]["SALifeTimeSeconds"] == 28800
        assert policy["device"] == {
            "url": "https://127.0.0.1:5986/wsman",
            "user": "LAB\\svc",
            "password_key": "rrasPassword",
            "auth": "ntlm",
        }
        frag = objs["vpn-east-rras2-ikev2-fragmentation"]
        assert (frag["path"], frag["name"], frag["kind"], frag["ensure"], frag["value"]) == (
            r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2",
            "EnableServerFragmentation",
            "DWord",
            "present",
            1,
        )
        assert objs["vpn-east-rras1-ike-initial-query"]["ensure"] == "absent"  # address preserved
        first, second = objs["vpn-east-rras1-restart"], objs["vpn-east-rras2-restart"]
        assert (first["node"], first["later_nodes"], second["later_nodes"]) == ("rras1", ["rras2"], [])
        drain = first["drain"]
        assert drain["kind"] == "f5"
        assert [m["pool"] for m in drain["members"]] == ["vpn-east_ikev2_500", "vpn-east_ikev2_4500"]
        assert drain["members"][0]["member"] == "vpn-east_rras1:500"
        assert not any("sstp" in name for name in objs if name.startswith("vpn-east-rras"))

    return build_objects(mocks, nodes=managed_nodes()).apply(check)


@pulumi.runtime.test
def test_translated_address_and_sstp_offload_settings(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert objs["vpn-east-rras1-ike-initial-query"]["value"] == 50000
        assert objs["vpn-east-rras1-sstp-use-https"]["value"] == 0
        assert objs["vpn-east-rras1-sstp-hash-by-admin"]["value"] == 1
        assert objs["vpn-east-rras1-sstp-sha256-hash"]["kind"] == "Binary"
        assert objs["vpn-east-rras1-sstp-sha1-hash"]["ensure"] == "absent"

    offload = {"tlsOffload": {"certificateSecret": "c", "privateKeySecret": "k"}}
    return build_objects(
        mocks, nodes=managed_nodes(), clientAddress="translated", protocols=["ikev2", "sstp"], sstp=offload
    ).apply(check)


def test_management_for_some_nodes_only_is_refused():
    from tests.unit.support import problems

    nodes = managed_nodes()
    del nodes[1]["management"]
    (msg,) = problems([cluster(nodes=nodes)])
    assert "management is declared for some nodes but not for rras2" in msg


def test_basic_auth_over_http_is_refused():
    from tests.unit.support import problems

    nodes = [
        {**n, "management": {**MGMT, "endpoint": "http://h:5985/wsman", "auth": "basic"}}
        for n in BASE["nodes"]
    ]
    msgs = problems([cluster(nodes=nodes)])
    assert any("Basic authentication is only allowed over HTTPS" in m for m in msgs)


def test_connection_failures_are_explained_in_terms_the_user_can_act_on():
    import requests
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError

    from providers.rras.session import NodeConnection, _explain

    conn = NodeConnection("rras1", "https://rras1:5986/wsman", "LAB\\svc", "rrasPassword", "ntlm", "ca.pem")
    secret = "s3cret-pass"
    cases = {
        AuthenticationError(f"Failed to authenticate the user LAB\\svc with ntlm ({secret})"): (
            "refused the credentials of 'LAB\\\\svc' (ntlm): check the secret 'rrasPassword'"
        ),
        requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"): (
            "the certificate of https://rras1:5986/wsman is not trusted by the caBundle ca.pem"
        ),
        requests.exceptions.SSLError("EOF occurred in violation of protocol (_ssl.c:2427)"): (
            "cannot reach https://rras1:5986/wsman"
        ),
        WinRMTransportError("http", 500, ""): "WinRM at https://rras1:5986/wsman answered HTTP 500",
        requests.exceptions.ReadTimeout("read timed out"): "no answer from https://rras1:5986/wsman in time",
        requests.exceptions.ConnectionError("Connection refused"): "cannot reach https://rras1:5986/wsman",
    }
    for exc, wanted in cases.items():
        text = _explain(conn, exc, secret)
        assert wanted in text, (exc, text)
        assert secret not in text
    kerberos = NodeConnection("rras1", "https://rras1:5986/wsman", "svc@LAB", "k", "kerberos", None)
    missing = ImportError("GSSAPIProxy requires the Python gssapi library: No module named 'gssapi'")
    assert "Kerberos is not available on this machine" in _explain(kerberos, missing, secret)
    credssp = NodeConnection("rras1", "https://rras1:5986/wsman", "LAB\\svc", "k", "credssp", None)
    refused = Exception("The server did not response CredSSP being an available authentication method")
    assert "does not offer CredSSP: enable it on the node" in _explain(credssp, refused, secret)
