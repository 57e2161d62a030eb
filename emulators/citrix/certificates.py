"""Citrix twin SSL for SSTP (docs/citrix.md, docs/citrix.md#ssl-for-sstp): systemfiles, sslcertkeys,
certificate bindings.

Systemfiles are addressed by location and live on disk (they survive a reboot without a save); PEM
cert-keys are read with ``cryptography`` (serial, subject, days to expiration, key match, the same
contents under two names refused); update/link actions; certificate bindings to SSL vservers only;
``sslvserver``; the SSL feature's "SSL feature disabled" note.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from emulators.citrix.base import CitrixBase
from emulators.citrix.exceptions import (
    NitroError,
    already_exists,
    invalid_argument,
    invalid_value,
    no_such_resource,
    required_missing,
)
from emulators.citrix.tables import SSL_SERVICE_TYPES, Obj


class SslMixin(CitrixBase):
    # -- SSL: files, cert-keys, vserver bindings ------------------------------------------------------------
    def add_file(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise required_missing("filename")
        for attr in ("filename", "filelocation", "filecontent"):
            if attr not in body:
                raise required_missing(attr)
        if str(body.get("fileencoding", "BASE64")).upper() != "BASE64":
            raise invalid_value("fileencoding", body.get("fileencoding"))
        try:
            content = base64.b64decode(str(body["filecontent"]), validate=True)
        except (ValueError, binascii.Error):
            raise invalid_value("filecontent", "<not base64>") from None
        if len(content) > 2 * 1024 * 1024:
            raise NitroError(599, 1643, "File size exceeds the limit of 2 MB")
        path = _file_path(str(body["filelocation"]), str(body["filename"]))
        with self.lock:
            if path in self.running["files"]:  # even with idempotent=yes (docs/citrix.md#ssl-for-sstp)
                raise NitroError(409, 1642, "Cannot create output file. File already exists")
            self.running["files"][path] = base64.b64encode(content).decode()
            # a file is on the appliance's disk, not in ns.conf: it survives a reboot without a save and
            # does not make ``configchanged`` true
            self.saved["files"][path] = self.running["files"][path]

    def get_files(self, name: str | None, args: Obj) -> list[Obj]:
        location = str(args.get("filelocation", ""))
        if not location:
            raise required_missing("fileLocation")
        with self.lock:
            out = []
            for path, content in sorted(self.running["files"].items()):
                folder, _, filename = path.rpartition("/")
                if folder != location.rstrip("/") or (name is not None and filename != name):
                    continue
                out.append(
                    {
                        "filename": filename,
                        "filelocation": folder,
                        "filecontent": content,
                        "fileencoding": "BASE64",
                        "filemodetime": "0",
                        "fileaccesstime": "0",
                    }
                )
            if name is not None and not out:
                raise no_such_resource("fileName", name)
            return out

    def delete_file(self, name: str, args: Obj) -> None:
        location = str(args.get("filelocation", ""))
        if not location:
            raise required_missing("fileLocation")
        with self.lock:
            path = _file_path(location, name)
            if path not in self.running["files"]:
                raise no_such_resource("fileName", name)
            del self.running["files"][path]
            self.saved["files"].pop(path, None)

    def add_certkey(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise required_missing("certkey")
        for attr in ("certkey", "cert"):
            if attr not in body:
                raise required_missing(attr)
        allowed = {"certkey", "cert", "key", "inform", "passplain", "expirymonitor", "notificationperiod"}
        for attr in body:
            if attr not in allowed:
                raise invalid_argument(attr)
        if str(body.get("inform", "PEM")).upper() != "PEM":
            raise NitroError(
                599, 1570, "Only PEM certificates are supported by this twin"
            )  # PFX: not modelled
        name = str(body["certkey"])
        with self.lock:
            if name in self.running["sslcertkey"]:
                raise already_exists("certkeyName", name)
            cert_pem = self._ssl_file(str(body["cert"]))
            key_pem = self._ssl_file(str(body["key"])) if body.get("key") else None
            facts = _certificate(cert_pem, key_pem)
            options = self._certkey_options(body)
            for other_name, other in self.running["sslcertkey"].items():
                if other["_sha256"] == facts["_sha256"]:
                    raise NitroError(
                        409, 273, f"Resource already exists [certkeyName Contents, {other_name}]"
                    )
            self.running["sslcertkey"][name] = {
                "certkey": name,
                "cert": str(body["cert"]),
                "key": str(body.get("key", "")),
                "inform": "PEM",
                "expirymonitor": "DISABLED",
                **facts,
                **options,
            }

    def _ssl_file(self, name: str) -> bytes:
        path = name if name.startswith("/") else f"/nsconfig/ssl/{name}"
        content = self.running["files"].get(path)
        if content is None:
            raise NitroError(599, 1540, f"Invalid certificate file [{name}]")
        return base64.b64decode(content)

    def get_certkeys(self, name: str | None) -> list[Obj]:
        with self.lock:
            items = sorted(self.running["sslcertkey"].items())
            if name is not None:
                items = [(n, o) for n, o in items if n == name]
                if not items:
                    raise no_such_resource("certkeyName", name)
            out = []
            for _, obj in items:
                shown = {k: v for k, v in obj.items() if not k.startswith("_")}
                if "_not_after" in obj:  # days to expiration counted at read time
                    days = int((obj["_not_after"] - time.time()) // 86400)
                    shown["daystoexpiration"] = max(days, 0)
                    shown["status"] = "Valid" if days >= 0 else "Expired"
                out.append(shown)
            return out

    def update_certkey(self, name: str, body: Any) -> None:
        for attr in body or {}:
            if attr not in ("certkey", "expirymonitor", "notificationperiod"):
                raise invalid_argument(attr)
        with self.lock:
            if name not in self.running["sslcertkey"]:
                raise no_such_resource("certkeyName", name)
            self.running["sslcertkey"][name].update(self._certkey_options(body or {}))

    @staticmethod
    def _certkey_options(body: Obj) -> Obj:
        """The two attributes a cert-key may change (validated before anything is stored)."""
        options: Obj = {}
        if "expirymonitor" in body:
            canon = str(body["expirymonitor"]).upper()
            if canon not in ("ENABLED", "DISABLED"):
                raise invalid_value("expirymonitor", body["expirymonitor"])
            options["expirymonitor"] = canon
        if "notificationperiod" in body:
            period = int(str(body["notificationperiod"]))
            if not 10 <= period <= 100:  # doc range
                raise invalid_value("notificationperiod", period)
            options["notificationperiod"] = period
        return options

    def certkey_action(self, action: str | None, body: Any) -> None:
        """``sslcertkey?action=update|link|unlink``; any other verb (the CLI's ``change``) is 1240.

        ``update`` replaces the certificate (and key) in place, so bindings stay. A real appliance also
        refuses a new certificate for another domain unless ``nodomaincheck`` is true; the twin does not
        check domains [?: its error code is not in docs/citrix.md].
        """
        if action not in ("update", "link", "unlink"):
            raise NitroError(400, 1240, "Invalid nitro action or operation")
        if not isinstance(body, dict):
            raise required_missing("certkey")
        name = str(body.get("certkey") or "")
        with self.lock:
            current = self._require("sslcertkey", name or None, "certkeyName")
            if action == "link":
                self._require("sslcertkey", body.get("linkcertkeyname"), "linkCertKeyName")
                current["linkcertkeyname"] = str(body["linkcertkeyname"])
                return
            if action == "unlink":
                current.pop("linkcertkeyname", None)
                return
            if "cert" not in body:
                raise required_missing("cert")
            if str(body.get("inform", "PEM")).upper() != "PEM":
                raise NitroError(599, 1570, "Only PEM certificates are supported by this twin")
            cert_pem = self._ssl_file(str(body["cert"]))
            key_pem = self._ssl_file(str(body["key"])) if body.get("key") else None
            facts = _certificate(cert_pem, key_pem)
            for other_name, other in self.running["sslcertkey"].items():
                if other_name != name and other["_sha256"] == facts["_sha256"]:
                    raise NitroError(
                        409, 273, f"Resource already exists [certkeyName Contents, {other_name}]"
                    )
            current.update(facts)
            current["cert"] = str(body["cert"])
            if body.get("key"):
                current["key"] = str(body["key"])

    def delete_certkey(self, name: str) -> None:
        with self.lock:
            if name not in self.running["sslcertkey"]:
                raise no_such_resource("certkeyName", name)
            if any(b["certkeyname"] == name for b in self.running["ssl_bindings"]):
                raise NitroError(599, 1070, "Object in use, cannot delete")  # code [uncertain]
            if any(o.get("linkcertkeyname") == name for o in self.running["sslcertkey"].values()):
                raise NitroError(599, 1070, "Object in use, cannot delete")  # a linked issuer [?]
            del self.running["sslcertkey"][name]

    def _bind_sslvserver_sslcertkey_binding(self, body: Obj) -> None:
        vserver_name = body.get("vservername")
        vserver = self.running["lbvserver"].get(str(vserver_name))
        if vserver is None:
            raise NitroError(404, 461, "No such Vserver")
        if vserver["servicetype"] not in ("SSL", "SSL_TCP"):
            raise NitroError(599, 1544, "Objects protocol type is not SSL")
        self._require("sslcertkey", body.get("certkeyname"), "certkeyName")
        if any(
            b["vservername"] == vserver_name and b["certkeyname"] == body["certkeyname"]
            for b in self.running["ssl_bindings"]
        ):
            raise already_exists()
        self.running["ssl_bindings"].append({"vservername": vserver_name, "certkeyname": body["certkeyname"]})

    def ssl_feature_note(self, resource: str, entries: list[Obj]) -> list[Obj]:
        """SSL entities read back ``"value": "SSL feature disabled"`` while the feature is off
        (docs/citrix.md#ssl-for-sstp)."""
        if "SSL" in self.running["features"] or resource not in ("lbvserver", "servicegroup"):
            return entries
        return [
            {**e, "value": "SSL feature disabled"} if e.get("servicetype") in SSL_SERVICE_TYPES else e
            for e in entries
        ]

    def sslvserver(self, name: str) -> list[Obj]:
        """``GET /config/sslvserver/<vs>``: the SSL side of an lbvserver (Terraform reads it for every one).

        A non-SSL vserver is refused with 1544 (Terraform ignores that error) [? code on GET].
        """
        with self.lock:
            vserver = self.running["lbvserver"].get(name)
            if vserver is None:
                raise NitroError(404, 461, "No such Vserver")
            if vserver["servicetype"] not in SSL_SERVICE_TYPES:
                raise NitroError(599, 1544, "Objects protocol type is not SSL")
            return [
                {
                    "vservername": name,
                    "ssl3": "DISABLED",
                    "tls1": "ENABLED",
                    "tls11": "ENABLED",
                    "tls12": "ENABLED",
                    "tls13": "DISABLED",
                    "sessreuse": "ENABLED",
                    "sesstimeout": 120,
                    "snienable": "DISABLED",
                    "clientauth": "DISABLED",
                }
            ]


def _file_path(location: str, name: str) -> str:
    return f"{location.rstrip('/')}/{name}"


def _certificate(cert_pem: bytes, key_pem: bytes | None) -> Obj:
    """What GET sslcertkey shows of a PEM certificate (and whether the key belongs to it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise NitroError(599, 1540, "Invalid certificate") from None
    if key_pem is not None:
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise NitroError(599, 1541, "Invalid key") from None
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(
            serialization.Encoding.PEM, public
        ) != cert.public_key().public_bytes(serialization.Encoding.PEM, public):
            raise NitroError(599, 1556, "Certificate and private key do not match")  # code [uncertain]
    days = int((cert.not_valid_after_utc.timestamp() - time.time()) // 86400)
    return {
        "serial": format(cert.serial_number, "X"),
        "status": "Valid" if days >= 0 else "Expired",
        "daystoexpiration": days,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "_sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "_not_after": cert.not_valid_after_utc.timestamp(),
    }
