"""What the BIG-IP twin tests share: plain iControl REST over a token, answers checked, objects made."""

from __future__ import annotations

import datetime
from typing import Any

import requests
import trustme

ADMIN = ("admin", "admin")
USER = ("automation", "automation-pass")


class Rest:
    """Plain iControl REST over a token, with the twin's CA verified on every request."""

    def __init__(self, twin: Any, creds: tuple[str, str] = USER) -> None:
        self.url = twin.url
        self.verify = str(twin.tls.ca_path)
        resp = requests.post(
            f"{self.url}/mgmt/shared/authn/login",
            json={"username": creds[0], "password": creds[1], "loginProviderName": "tmos"},
            verify=self.verify,
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
        self.token = resp.json()["token"]["token"]

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"X-F5-Auth-Token": self.token, **headers},
            verify=self.verify,
            timeout=10,
        )


def ok(resp: requests.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json() if resp.content else None


def error(resp: requests.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == status
    assert body["message"].startswith(code), body["message"]
    return str(body["message"])


def ikev2_objects(rest: Rest) -> None:
    ok(rest("POST", "/mgmt/tm/ltm/node", {"name": "rras1", "partition": "Common", "address": "10.0.0.11"}))
    ok(
        rest(
            "POST",
            "/mgmt/tm/ltm/pool",
            {"name": "ike500", "monitor": "/Common/gateway_icmp", "members": [{"name": "rras1:500"}]},
        )
    )
    ok(
        rest(
            "POST",
            "/mgmt/tm/ltm/persistence/source-addr",
            {
                "name": "srcaddr",
                "defaultsFrom": "/Common/source_addr",
                "matchAcrossServices": "enabled",
                "timeout": 1800,
            },
        )
    )
    ok(
        rest(
            "POST",
            "/mgmt/tm/ltm/virtual",
            {
                "name": "vs500",
                "destination": "192.0.2.10:500",
                "mask": "255.255.255.255",
                "ipProtocol": "udp",
                "pool": "/Common/ike500",
                "persist": [{"name": "/Common/srcaddr", "tmDefault": "yes"}],
                "profiles": [{"name": "/Common/udp", "context": "all"}],
                "sourceAddressTranslation": {"type": "none"},
            },
        )
    )


def pem_pair() -> tuple[bytes, bytes, str]:
    ca = trustme.CA()
    leaf = ca.issue_cert("vpn.example.test", not_after=datetime.datetime(2031, 1, 1, tzinfo=datetime.UTC))
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert_pem = leaf.cert_chain_pems[0].bytes()
    digest = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256()).hex().upper()
    return cert_pem, leaf.private_key_pem.bytes(), digest
