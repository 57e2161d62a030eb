"""One dynamic provider per BIG-IP LTM object type (node, pool, source-address persistence, virtual).

Each maps the project's input shape (snake_case keys, plain values) to iControl REST bodies and back,
normalising what BIG-IP echoes differently from what was sent (reference/f5.md, fidelity traps 7-8):
trailing spaces in monitor expressions, string timeouts, /Partition/ prefixes and route-domain suffixes
in destinations, persistence lists with tmDefault, profiles in a subcollection.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, ClassVar

from providers.common.device import Device
from providers.common.resource import ApplianceObjectProvider, plain
from providers.common.save import DeviceSaveProvider
from providers.f5.client import F5Client, client_for, full_path, object_path


class F5ObjectProvider(ApplianceObjectProvider):
    collection: ClassVar[str] = ""
    identity_keys: ClassVar[tuple[str, ...]] = ("name", "partition")
    saves_after_delete = True

    def client(self, device: Device) -> F5Client:
        return client_for(device, self._secrets)

    def object_id(self, props: dict[str, Any]) -> str:
        return full_path(props["partition"], props["name"])

    def path(self, props: dict[str, Any]) -> str:
        return object_path(self.collection, props["partition"], props["name"])

    def label(self, props: dict[str, Any]) -> str:
        return f"{self.object_type} {self.object_id(props)}"

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        obj = client.get(self.path(props), what=self.label(props))
        if obj is None:
            return None
        return self.from_device(client, props, obj)

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.call("DELETE", self.path(props), what=self.label(props), ok_missing=True)

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class ConfigSaveProvider(DeviceSaveProvider):
    """``save sys config`` after the cluster's objects, then ``config-sync to-group`` when declared."""

    what = "sys config"

    def client(self, device: Device) -> F5Client:
        return client_for(device, self._secrets)


class NodeProvider(F5ObjectProvider):
    object_type = "ltm node"
    collection = "ltm/node"
    identity_keys = ("name", "partition", "address")
    property_keys = ()

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": obj.get("name"),
            "partition": obj.get("partition", props["partition"]),
            "address": _strip_route_domain(str(obj.get("address", ""))),
            "owner": obj.get("description"),
        }

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        body = {
            "name": props["name"],
            "partition": props["partition"],
            "address": props["address"],
            "description": props["owner"],
        }
        client.call("POST", "/mgmt/tm/ltm/node", body, what=self.label(props))

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        client.call("PATCH", self.path(props), {"description": props["owner"]}, what=self.label(props))


class PoolProvider(F5ObjectProvider):
    """A pool with its members; members are added and removed one by one (never the whole list).
    ``parents``: the ids of its nodes and monitor (replaced with them)."""

    object_type = "ltm pool"
    parent_keys = ("parents",)
    collection = "ltm/pool"
    property_keys = ("load_balancing_mode", "monitor", "members")

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        members = client.get(self.path(props) + "/members", what=f"members of {self.label(props)}") or {}
        return {
            "name": obj.get("name"),
            "partition": obj.get("partition", props["partition"]),
            "load_balancing_mode": obj.get("loadBalancingMode", "round-robin"),
            "monitor": _monitor(obj.get("monitor")),
            "members": sorted(str(m.get("name")) for m in members.get("items", [])),
            "owner": obj.get("description"),
        }

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        body = {
            "name": props["name"],
            "partition": props["partition"],
            "loadBalancingMode": props["load_balancing_mode"],
            "monitor": props["monitor"],
            "description": props["owner"],
            "members": [{"name": m, "partition": props["partition"]} for m in props["members"]],
        }
        client.call("POST", "/mgmt/tm/ltm/pool", body, what=self.label(props))

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        patch: dict[str, Any] = {}
        if "load_balancing_mode" in changed:
            patch["loadBalancingMode"] = props["load_balancing_mode"]
        if "monitor" in changed:
            patch["monitor"] = props["monitor"]
        if "owner" in changed:
            patch["description"] = props["owner"]
        if patch:
            client.call("PATCH", self.path(props), patch, what=self.label(props))
        if "members" in changed:
            have, want = set(current.get("members") or []), set(props["members"])
            for member in sorted(want - have):
                client.call(
                    "POST",
                    self.path(props) + "/members",
                    {"name": member, "partition": props["partition"]},
                    what=f"member {member} of {self.label(props)}",
                )
            for member in sorted(have - want):
                client.call(
                    "DELETE",
                    self.path(props)
                    + "/members/"
                    + object_path("", props["partition"], member).rsplit("/", 1)[1],
                    what=f"member {member} of {self.label(props)}",
                    ok_missing=True,
                )


class PersistenceProvider(F5ObjectProvider):
    """A persistence profile (source-addr or ssl): timeout, match across services, parent profile."""

    property_keys = ("timeout", "match_across_services", "defaults_from")

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        timeout: Any = obj.get("timeout", "180")
        return {
            "name": obj.get("name"),
            "partition": obj.get("partition", props["partition"]),
            "timeout": int(timeout) if str(timeout).isdigit() else timeout,
            "match_across_services": obj.get("matchAcrossServices") == "enabled",
            "defaults_from": obj.get("defaultsFrom"),
            "owner": obj.get("description"),
        }

    def _body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "timeout" in keys:
            body["timeout"] = str(props["timeout"])
        if "match_across_services" in keys:
            body["matchAcrossServices"] = "enabled" if props["match_across_services"] else "disabled"
        if "defaults_from" in keys:
            body["defaultsFrom"] = props["defaults_from"]
        if "owner" in keys:
            body["description"] = props["owner"]
        return body

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        body = {"name": props["name"], "partition": props["partition"]}
        body.update(self._body(props, {*self.property_keys, "owner"}))
        client.call("POST", f"/mgmt/tm/{self.collection}", body, what=self.label(props))

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        client.call("PATCH", self.path(props), self._body(props, set(changed)), what=self.label(props))


class SourceAddressPersistenceProvider(PersistenceProvider):
    object_type = "ltm persistence source-addr"
    collection = "ltm/persistence/source-addr"


class SslPersistenceProvider(PersistenceProvider):
    object_type = "ltm persistence ssl"
    collection = "ltm/persistence/ssl"


class VirtualServerProvider(F5ObjectProvider):
    """``parents``: the ids of its pool, persistence and client-ssl profiles (replaced with them)."""

    object_type = "ltm virtual"
    collection = "ltm/virtual"
    parent_keys = ("parents",)
    property_keys = (
        "destination_address",
        "port",
        "ip_protocol",
        "pool",
        "profiles",
        "source_address_translation",
        "persistence",
        "fallback_persistence",
    )

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        address, port = _parse_destination(str(obj.get("destination", "")))
        profiles = client.get(self.path(props) + "/profiles", what=f"profiles of {self.label(props)}") or {}
        persist = [p for p in obj.get("persist") or [] if isinstance(p, dict)]
        default = next((p for p in persist if p.get("tmDefault") == "yes"), persist[0] if persist else None)
        snat = obj.get("sourceAddressTranslation") or {}
        return {
            "name": obj.get("name"),
            "partition": obj.get("partition", props["partition"]),
            "destination_address": address,
            "port": port,
            "ip_protocol": obj.get("ipProtocol", "tcp"),
            "pool": obj.get("pool", ""),
            "profiles": sorted(
                (
                    {
                        "name": full_path(str(p.get("partition", "Common")), str(p.get("name"))),
                        "context": p.get("context", "all"),
                    }
                    for p in profiles.get("items", [])
                ),
                key=lambda p: p["name"],
            ),
            "source_address_translation": snat.get("type", "none"),
            "persistence": full_path(str(default.get("partition", "Common")), str(default["name"]))
            if default
            else "",
            "fallback_persistence": obj.get("fallbackPersistence", ""),
            "owner": obj.get("description"),
        }

    def _body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if keys & {"destination_address", "port"}:
            body["destination"] = _format_destination(
                props["partition"], props["destination_address"], props["port"]
            )
            body["mask"] = (
                "255.255.255.255"
                if ":" not in props["destination_address"]
                else ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
            )
        if "ip_protocol" in keys:
            body["ipProtocol"] = props["ip_protocol"]
        if "pool" in keys:
            body["pool"] = props["pool"]
        if "profiles" in keys:
            body["profiles"] = [{"name": p["name"], "context": p["context"]} for p in props["profiles"]]
        if "source_address_translation" in keys:
            body["sourceAddressTranslation"] = {"type": props["source_address_translation"]}
        if "persistence" in keys:
            body["persist"] = (
                [{"name": props["persistence"], "tmDefault": "yes"}] if props["persistence"] else []
            )
        if "fallback_persistence" in keys:
            body["fallbackPersistence"] = props.get("fallback_persistence", "")
        if "owner" in keys:
            body["description"] = props["owner"]
        return body

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        body = {"name": props["name"], "partition": props["partition"]}
        body.update(self._body(props, {*self.property_keys, "owner"}))
        client.call("POST", "/mgmt/tm/ltm/virtual", body, what=self.label(props))

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        client.call("PATCH", self.path(props), self._body(props, set(changed)), what=self.label(props))


# -- normalisation helpers ---------------------------------------------------------------------------
_RD = re.compile(r"%\d+")


def _strip_route_domain(address: str) -> str:
    return _RD.sub("", address)


def _monitor(value: Any) -> str:
    """BIG-IP echoes monitor expressions with a trailing space; absent means none."""
    return " ".join(str(value).split()) if value else ""


def _parse_destination(destination: str) -> tuple[str, int]:
    """``/Common/203.0.113.10%2:500`` -> (``203.0.113.10``, 500); IPv6 uses ``.`` before the port."""
    tail = destination.rsplit("/", 1)[-1]
    tail = _RD.sub("", tail)
    sep = "." if tail.count(":") > 1 else ":"
    address, _, port = tail.rpartition(sep)
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        pass
    return address, int(port) if port.isdigit() else 0


def _format_destination(partition: str, address: str, port: int) -> str:
    sep = "." if ":" in address else ":"
    return f"/{partition}/{address}{sep}{port}"


class HttpMonitorProvider(F5ObjectProvider):
    """An HTTP health monitor (SSTP with TLS offload: HEAD of the SSTP URI on port 80, expect 401)."""

    object_type = "ltm monitor http"
    collection = "ltm/monitor/http"
    property_keys = ("defaults_from", "send", "recv", "interval", "timeout")

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": obj.get("name"),
            "partition": obj.get("partition", props["partition"]),
            "defaults_from": obj.get("defaultsFrom"),
            "send": obj.get("send", ""),
            "recv": obj.get("recv", ""),
            "interval": _int(obj.get("interval", 5)),
            "timeout": _int(obj.get("timeout", 16)),
            "owner": obj.get("description"),
        }

    def _body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        names = {
            "defaults_from": "defaultsFrom",
            "send": "send",
            "recv": "recv",
            "interval": "interval",
            "timeout": "timeout",
            "owner": "description",
        }
        return {names[k]: props[k] for k in keys if k in names}

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        body = {"name": props["name"], "partition": props["partition"]}
        body.update(self._body(props, {*self.property_keys, "owner"}))
        client.call("POST", f"/mgmt/tm/{self.collection}", body, what=self.label(props))

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        client.call("PATCH", self.path(props), self._body(props, set(changed)), what=self.label(props))


class HttpsMonitorProvider(HttpMonitorProvider):
    """An HTTPS health monitor (SSTP without offload: HEAD of the SSTP URI over TLS, expect 401)."""

    object_type = "ltm monitor https"
    collection = "ltm/monitor/https"


class ClientSslProfileProvider(F5ObjectProvider):
    """A client-ssl profile terminating SSTP's TLS with the uploaded certificate and key."""

    object_type = "ltm profile client-ssl"
    collection = "ltm/profile/client-ssl"
    property_keys = ("defaults_from", "certificate", "key")

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        chain = [c for c in obj.get("certKeyChain") or [] if isinstance(c, dict)]
        first = chain[0] if chain else {}
        return {
            "name": obj.get("name"),
            "partition": obj.get("partition", props["partition"]),
            "defaults_from": obj.get("defaultsFrom"),
            "certificate": first.get("cert", obj.get("cert", "")),
            "key": first.get("key", obj.get("key", "")),
            "owner": obj.get("description"),
        }

    def _body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "defaults_from" in keys:
            body["defaultsFrom"] = props["defaults_from"]
        if keys & {"certificate", "key"}:
            # One list entry, replaced as a whole: the profile never points at a missing certificate.
            body["certKeyChain"] = [{"name": "default", "cert": props["certificate"], "key": props["key"]}]
        if "owner" in keys:
            body["description"] = props["owner"]
        return body

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        body = {"name": props["name"], "partition": props["partition"]}
        body.update(self._body(props, {*self.property_keys, "owner"}))
        client.call("POST", f"/mgmt/tm/{self.collection}", body, what=self.label(props))

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        client.call("PATCH", self.path(props), self._body(props, set(changed)), what=self.label(props))


class CertificateProvider(F5ObjectProvider):
    """The SSTP public certificate and its key, installed as ``<base>_<fp>.crt`` / ``.key``.

    The PEMs come from secret config (inputs carry only the key names). The device names embed the
    first 16 hex digits of the certificate's SHA-256 fingerprint, so a new certificate is a new pair of
    objects: the replacement creates before it deletes, the client-ssl profile is switched to the new
    pair in between, and the virtual server is never without a certificate. Certificate objects have no
    description field; ownership is established by that name: an existing object of that name is ours
    only if it holds exactly the configured certificate.
    """

    object_type = "sys crypto cert/key"
    identity_keys = ("base_name", "partition")
    property_keys = ()
    carried_keys = ("certificate_secret", "private_key_secret")
    delete_before_replace = False

    # the PEMs from config --------------------------------------------------------------------------
    def _pems(self, props: dict[str, Any]) -> tuple[bytes, bytes]:
        where = f"SSTP certificate {props['base_name']}"
        cert = self._secrets.value(props["certificate_secret"], where, "<PEM certificate>").encode()
        key = self._secrets.value(props["private_key_secret"], where, "<PEM private key>").encode()
        return cert, key

    def _fingerprint(self, props: dict[str, Any]) -> str:
        return certificate_sha256(self._pems(props)[0])

    def _names(self, props: dict[str, Any], fingerprint: str) -> tuple[str, str]:
        stem = f"{props['base_name']}_{fingerprint[:16]}"
        return f"{stem}.crt", f"{stem}.key"

    # identity ----------------------------------------------------------------------------------------
    def object_id(self, props: dict[str, Any]) -> str:
        return full_path(props["partition"], props["base_name"])

    def content_replaces(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        if olds.get("sha256") != self._fingerprint(news):
            return ["sha256"]
        return []

    # device ------------------------------------------------------------------------------------------
    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        fingerprint = props.get("sha256") or self._fingerprint(props)
        cert_name, key_name = self._names(props, fingerprint)
        cert = client.get(
            object_path("sys/crypto/cert", props["partition"], cert_name), what=f"cert {cert_name}"
        )
        key = client.get(object_path("sys/crypto/key", props["partition"], key_name), what=f"key {key_name}")
        if cert is None or key is None:
            return None
        found = _normalise_fingerprint(str(cert.get("fingerprint", "")))
        return {
            "sha256": found,
            "certificate": full_path(props["partition"], cert_name),
            "key": full_path(props["partition"], key_name),
            "expiration": cert.get("expirationString") or cert.get("expirationDate"),
            "owner": props["owner"] if found == fingerprint else f"a different certificate ({found[:16]})",
        }

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        cert_pem, key_pem = self._pems(props)
        cert_name, key_name = self._names(props, certificate_sha256(cert_pem))
        for kind, name, data in (("key", key_name, key_pem), ("cert", cert_name, cert_pem)):
            local = client.upload(name, data)
            client.call(
                "POST",
                f"/mgmt/tm/sys/crypto/{kind}",
                {"command": "install", "name": f"/{props['partition']}/{name}", "from-local-file": local},
                what=f"{kind} {name}",
            )

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        """Nothing to change in place: a different certificate is a replacement."""

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        fingerprint = props.get("sha256") or self._fingerprint(props)
        cert_name, key_name = self._names(props, fingerprint)
        client.call(
            "DELETE",
            object_path("sys/crypto/cert", props["partition"], cert_name),
            what=f"cert {cert_name}",
            ok_missing=True,
        )
        client.call(
            "DELETE",
            object_path("sys/crypto/key", props["partition"], key_name),
            what=f"key {key_name}",
            ok_missing=True,
        )

    def create(self, props: dict[str, Any]) -> Any:
        props = dict(props)
        props["sha256"] = self._fingerprint(plain(props))
        return super().create(props)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        news = dict(news)
        news["sha256"] = self._fingerprint(plain(news))
        return super().update(_id, olds, news)


def certificate_sha256(pem: bytes) -> str:
    """SHA-256 of the certificate's DER encoding, lower-case hex (what RRAS's SHA256CertificateHash holds)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ValueError("the SSTP certificate in secret config is not a PEM X.509 certificate") from None
    return cert.fingerprint(hashes.SHA256()).hex()


def _normalise_fingerprint(value: str) -> str:
    """``SHA256/AB:CD:...`` (BIG-IP) -> ``abcd...``."""
    return value.split("/", 1)[-1].replace(":", "").lower()


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value
