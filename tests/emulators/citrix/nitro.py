"""A tiny NITRO client for the Citrix twin tests and the helpers they share (no fixtures here)."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import requests

#: The appliance's administrator: these tests are about the device's objects and answers; what other accounts
#: may do is test_roles.py's subject.
USER, PASSWORD = "nsroot", "nsroot"


class Nitro:
    def __init__(self, twin: Any, headers: dict[str, str] | None = None) -> None:
        self.url = f"{twin.url}/nitro/v1/config"
        self.verify = str(twin.tls.ca_path)
        self.headers = headers if headers is not None else {"X-NITRO-USER": USER, "X-NITRO-PASS": PASSWORD}

    def __call__(self, method: str, path: str, body: Any = None, cookies: Any = None) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}/{path}",
            json=body,
            headers=self.headers,
            cookies=cookies,
            verify=self.verify,
            timeout=10,
        )


def done(resp: requests.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert (body["errorcode"], body["message"], body["severity"]) == (0, "Done", "NONE")
    return body


def refused(resp: requests.Response, status: int, code: int) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["errorcode"] == code and body["severity"] == "ERROR", body
    return str(body["message"])


def ikev2(nitro: Nitro) -> None:
    done(nitro("POST", "server", {"server": {"name": "rras1", "ipaddress": "10.0.0.11"}}), 201)
    done(
        nitro("POST", "servicegroup", {"servicegroup": {"servicegroupname": "sg500", "servicetype": "udp"}}),
        201,
    )
    done(
        nitro(
            "PUT",
            "servicegroup_servicegroupmember_binding",
            {
                "servicegroup_servicegroupmember_binding": {
                    "servicegroupname": "sg500",
                    "servername": "rras1",
                    "port": 500,
                }
            },
        )
    )
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "vs500", "servicetype": "UDP", "ipv46": "192.0.2.10", "port": 500}},
        ),
        201,
    )
    done(
        nitro(
            "PUT",
            "lbvserver_servicegroup_binding",
            {"lbvserver_servicegroup_binding": {"name": "vs500", "servicegroupname": "sg500"}},
        )
    )


def bind(nitro: Nitro, binding: str, method: str = "PUT", **fields: Any) -> requests.Response:
    return nitro(method, binding, {binding: fields})


def self_signed(common_name: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def upload(nitro: Nitro, filename: str, content: bytes, query: str = "") -> requests.Response:
    body = {
        "filename": filename,
        "filelocation": "/nsconfig/ssl/",
        "filecontent": base64.b64encode(content).decode(),
        "fileencoding": "BASE64",
    }
    return nitro("POST", f"systemfile{query}", {"systemfile": body})
