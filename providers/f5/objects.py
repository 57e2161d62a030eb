"""One dynamic provider per BIG-IP LTM object type (node, pool, persistence, monitor, profile, virtual).

Each declares its iControl REST name map (providers.common.fields), which is used both ways: it reads the
device's JSON into the project's input shape (snake_case keys, plain values) and writes the create and update
bodies. The map's conversions normalise what BIG-IP echoes differently from what was sent
(docs/f5.md#echoed-values-differ-from-what-was-sent): trailing spaces in monitor expressions, string timeouts,
/Partition/ prefixes and route-domain suffixes in destinations, persistence lists with tmDefault; profiles and
pool members live in subcollections, read and written by the classes' own hooks."""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from providers.common.certificates import FingerprintNamedCertificate
from providers.common.certificates import certificate_sha256 as certificate_sha256  # its old path
from providers.common.device import Device
from providers.common.errors import ApplianceError
from providers.common.fields import (
    FROM_INPUTS,
    Field,
    FieldMap,
    Joint,
    Props,
    as_text,
    digits_to_int,
    enabled_flag,
    is_enabled,
    or_default,
    strip_route_domain,
)
from providers.common.resource import ApplianceObjectProvider
from providers.common.save import DeviceSaveProvider
from providers.f5.client import F5Client, client_for, full_path, object_path
from providers.f5.permissions import require_role

NAMED = FieldMap(Field("name", "name"), Field("partition", "partition", default=FROM_INPUTS))
OWNED = FieldMap(Field("owner", "description"))


class F5ObjectProvider(ApplianceObjectProvider):
    collection: ClassVar[str] = ""
    identity_keys: ClassVar[tuple[str, ...]] = ("name", "partition")
    saves_after_delete = True

    def client(self, device: Device) -> F5Client:
        return client_for(device, self._secrets)

    def require_access(self, props: dict[str, Any]) -> None:
        """The account's role in the object's partition, read once per device and process before anything
        is written, so that a preview fails when it is not enough (providers/f5/permissions.py)."""
        device, partition = props.get("device"), props.get("partition")
        if (
            isinstance(device, dict)
            and isinstance(partition, str)
            and all(isinstance(device.get(k), str) for k in ("url", "user", "password_key"))
        ):
            require_role(Device.from_props(props), partition, self._secrets)

    def object_id(self, props: dict[str, Any]) -> str:
        return full_path(props["partition"], props["name"])

    def path(self, props: dict[str, Any]) -> str:
        return object_path(self.collection, props["partition"], props["name"])

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        obj = client.read_object(self.collection, props["partition"], props["name"], what=self.label(props))
        if obj is None:
            return None
        return self.from_device(client, props, obj)

    def already_exists(self, exc: ApplianceError) -> bool:
        """``01020066:3: The requested ... already exists`` (docs/f5.md#references-and-in-use-refusals)."""
        return exc.status == 409 and str(exc.code or "").startswith("01020066")

    def state_after_create(self, client: Any, props: dict[str, Any], reply: Any) -> dict[str, Any]:
        """BIG-IP answers a create with the object (docs/f5.md#tokens): its plain attributes are read from
        the reply; sub-collections (members, profiles) are what was written."""
        state = super().state_after_create(client, props, reply)
        if isinstance(reply, dict):
            read = self.fields.read(reply, props)
            state.update({k: v for k, v in read.items() if k not in self.subcollection_keys})
        return state

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        return self.fields.read(obj, props)

    def create_body(self, props: dict[str, Any]) -> dict[str, Any]:
        return self.fields.body(props)

    #: input keys read from sub-collections, not from the object's own attributes
    subcollection_keys: ClassVar[tuple[str, ...]] = ()

    def create_object(self, client: Any, props: dict[str, Any]) -> Any:
        return client.call(
            "POST", f"/mgmt/tm/{self.collection}", self.create_body(props), what=self.label(props)
        )

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        body = self.fields.body(props, changed)
        if body:
            client.call("PATCH", self.path(props), body, what=self.label(props))

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.call("DELETE", self.path(props), what=self.label(props), ok_missing=True)


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
    fields = NAMED + FieldMap(Field("address", "address", from_device=strip_route_domain, default="")) + OWNED


def _monitor(value: Any) -> str:
    """BIG-IP echoes monitor expressions with a trailing space; absent means none."""
    return " ".join(str(value).split()) if value else ""


class PoolProvider(F5ObjectProvider):
    """A pool with its members; members are added and removed one by one (never the whole list).
    ``parents``: the ids of its nodes and monitor (replaced with them)."""

    object_type = "ltm pool"
    parent_keys = ("parents",)
    collection = "ltm/pool"
    property_keys = ("load_balancing_mode", "monitor", "members")
    fields = (
        NAMED
        + FieldMap(
            Field("load_balancing_mode", "loadBalancingMode", default="round-robin"),
            Field("monitor", "monitor", from_device=_monitor),
        )
        + OWNED
    )

    def _members_path(self, props: Props) -> str:
        return self.path(dict(props)) + "/members"

    subcollection_keys = ("members",)

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        members = (
            _subcollection(obj, "membersReference")
            or client.get(self._members_path(props), what=f"members of {self.label(props)}")
            or {}
        )
        out = super().from_device(client, props, obj)
        out["members"] = sorted(str(m.get("name")) for m in members.get("items", []))
        return out

    def create_body(self, props: dict[str, Any]) -> dict[str, Any]:
        members = [{"name": m, "partition": props["partition"]} for m in props["members"]]
        return {**super().create_body(props), "members": members}

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        super().update_object(client, props, changed, current)
        if "members" not in changed:
            return
        have, want = set(current.get("members") or []), set(props["members"])
        for member in sorted(want - have):
            client.call(
                "POST",
                self._members_path(props),
                {"name": member, "partition": props["partition"]},
                what=f"member {member} of {self.label(props)}",
            )
        for member in sorted(have - want):
            client.call(
                "DELETE",
                self._members_path(props)
                + "/"
                + object_path("", props["partition"], member).rsplit("/", 1)[1],
                what=f"member {member} of {self.label(props)}",
                ok_missing=True,
            )


class PersistenceProvider(F5ObjectProvider):
    """A persistence profile (source-addr or ssl): timeout, match across services, parent profile."""

    property_keys = ("timeout", "match_across_services", "defaults_from")
    fields = (
        NAMED
        + FieldMap(
            Field("timeout", "timeout", to_device=as_text, from_device=digits_to_int, default="180"),
            Field(
                "match_across_services",
                "matchAcrossServices",
                to_device=enabled_flag,
                from_device=is_enabled,
            ),
            Field("defaults_from", "defaultsFrom"),
        )
        + OWNED
    )


class SourceAddressPersistenceProvider(PersistenceProvider):
    object_type = "ltm persistence source-addr"
    collection = "ltm/persistence/source-addr"


class SslPersistenceProvider(PersistenceProvider):
    object_type = "ltm persistence ssl"
    collection = "ltm/persistence/ssl"


# -- virtual server name map --------------------------------------------------------------------------
def _parse_destination(destination: str) -> tuple[str, int]:
    """``/Common/203.0.113.10%2:500`` -> (``203.0.113.10``, 500); IPv6 uses ``.`` before the port."""
    tail = strip_route_domain(destination.rsplit("/", 1)[-1])
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


def _destination_to_device(props: Props) -> dict[str, Any]:
    address = props["destination_address"]
    return {
        "destination": _format_destination(props["partition"], address, props["port"]),
        "mask": "255.255.255.255" if ":" not in address else "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    }


def _destination_from_device(obj: Props, _props: Props) -> dict[str, Any]:
    address, port = _parse_destination(str(obj.get("destination", "")))
    return {"destination_address": address, "port": port}


def _default_persistence(value: Any) -> str:
    """The persistence list's default entry (``tmDefault``, else the first) as a full path."""
    persist = [p for p in value or [] if isinstance(p, dict)]
    default = next((p for p in persist if p.get("tmDefault") == "yes"), persist[0] if persist else None)
    return full_path(str(default.get("partition", "Common")), str(default["name"])) if default else ""


def _persistence_list(value: Any) -> list[dict[str, str]]:
    return [{"name": value, "tmDefault": "yes"}] if value else []


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
    fields = (
        NAMED
        + FieldMap(
            Joint(("destination_address", "port"), _destination_to_device, _destination_from_device),
            Field("ip_protocol", "ipProtocol", default="tcp"),
            Field("pool", "pool", default=""),
            # written here; read from the profiles subcollection (from_device)
            Field(
                "profiles",
                "profiles",
                to_device=lambda ps: [{"name": p["name"], "context": p["context"]} for p in ps],
            ),
            Field(
                "source_address_translation",
                "sourceAddressTranslation",
                to_device=lambda kind: {"type": kind},
                from_device=lambda snat: (snat or {}).get("type", "none"),
            ),
            Field("persistence", "persist", to_device=_persistence_list, from_device=_default_persistence),
            Field("fallback_persistence", "fallbackPersistence", to_device=or_default(""), default=""),
        )
        + OWNED
    )

    subcollection_keys = ("profiles",)

    def from_device(self, client: F5Client, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        profiles = (
            _subcollection(obj, "profilesReference")
            or client.get(self.path(props) + "/profiles", what=f"profiles of {self.label(props)}")
            or {}
        )
        out = super().from_device(client, props, obj)
        out["profiles"] = sorted(
            (
                {
                    "name": full_path(str(p.get("partition", "Common")), str(p.get("name"))),
                    "context": p.get("context", "all"),
                }
                for p in profiles.get("items", [])
            ),
            key=lambda p: p["name"],
        )
        return out


class HttpMonitorProvider(F5ObjectProvider):
    """An HTTP health monitor (SSTP with TLS offload: HEAD of the SSTP URI on port 80, expect 401)."""

    object_type = "ltm monitor http"
    collection = "ltm/monitor/http"
    property_keys = ("defaults_from", "send", "recv", "interval", "timeout")
    fields = (
        NAMED
        + FieldMap(
            Field("defaults_from", "defaultsFrom"),
            Field("send", "send", default=""),
            Field("recv", "recv", default=""),
            Field("interval", "interval", from_device=digits_to_int, default=5),
            Field("timeout", "timeout", from_device=digits_to_int, default=16),
        )
        + OWNED
    )


class HttpsMonitorProvider(HttpMonitorProvider):
    """An HTTPS health monitor (SSTP without offload: HEAD of the SSTP URI over TLS, expect 401)."""

    object_type = "ltm monitor https"
    collection = "ltm/monitor/https"


def _cert_key_to_device(props: Props) -> dict[str, Any]:
    # One list entry, replaced as a whole: the profile never points at a missing certificate.
    return {"certKeyChain": [{"name": "default", "cert": props["certificate"], "key": props["key"]}]}


def _cert_key_from_device(obj: Props, _props: Props) -> dict[str, Any]:
    chain = [c for c in obj.get("certKeyChain") or [] if isinstance(c, dict)]
    first = chain[0] if chain else {}
    return {
        "certificate": first.get("cert", obj.get("cert", "")),
        "key": first.get("key", obj.get("key", "")),
    }


class ClientSslProfileProvider(F5ObjectProvider):
    """A client-ssl profile terminating SSTP's TLS with the uploaded certificate and key."""

    object_type = "ltm profile client-ssl"
    collection = "ltm/profile/client-ssl"
    property_keys = ("defaults_from", "certificate", "key")
    fields = (
        NAMED
        + FieldMap(
            Field("defaults_from", "defaultsFrom"),
            Joint(("certificate", "key"), _cert_key_to_device, _cert_key_from_device),
        )
        + OWNED
    )


class CertificateProvider(FingerprintNamedCertificate, F5ObjectProvider):
    """The SSTP public certificate and its key, installed as ``<base>_<fp>.crt`` / ``.key``.

    Named by fingerprint (providers.common.certificates): a new certificate is a new pair of objects,
    created before the old pair is deleted, with the client-ssl profile switched to the new pair in
    between, so the virtual server is never without a certificate. Outputs: ``sha256`` and the device
    paths ``certificate`` and ``key``.
    """

    object_type = "sys crypto cert/key"
    identity_keys = ("base_name", "partition")
    property_keys = ()
    carried_keys = ("certificate_secret", "private_key_secret")
    stem_key = "base_name"

    def _names(self, props: dict[str, Any]) -> tuple[str, str]:
        stem = self.device_name(props, self.recorded_fingerprint(props))
        return f"{stem}.crt", f"{stem}.key"

    def object_id(self, props: dict[str, Any]) -> str:
        return full_path(props["partition"], props["base_name"])

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        fingerprint = self.recorded_fingerprint(props)
        cert_name, key_name = self._names(props)
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
        cert_pem, key_pem = self.pems(props)
        cert_name, key_name = self._names(props)
        for kind, name, data in (("key", key_name, key_pem), ("cert", cert_name, cert_pem)):
            local = client.upload(name, data)
            client.call(
                "POST",
                f"/mgmt/tm/sys/crypto/{kind}",
                {"command": "install", "name": f"/{props['partition']}/{name}", "from-local-file": local},
                what=f"{kind} {name}",
            )

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        for kind, name in zip(("cert", "key"), self._names(props), strict=True):
            client.call(
                "DELETE",
                object_path(f"sys/crypto/{kind}", props["partition"], name),
                what=f"{kind} {name}",
                ok_missing=True,
            )


def _subcollection(obj: dict[str, Any], reference: str) -> dict[str, Any] | None:
    """The sub-collection BIG-IP gave inline (``expandSubcollections=true``): ``{"items": [...]}``; an
    empty one comes without ``items`` (docs/f5.md#query-options), so a reference without them is empty."""
    ref = obj.get(reference)
    if not isinstance(ref, dict):
        return None
    return {"items": list(ref.get("items") or [])} if "isSubcollection" in ref or "items" in ref else None


def _normalise_fingerprint(value: str) -> str:
    """``SHA256/AB:CD:...`` (BIG-IP) -> ``abcd...``."""
    return value.split("/", 1)[-1].replace(":", "").lower()
