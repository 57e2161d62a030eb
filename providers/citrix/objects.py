"""One dynamic provider per NITRO object an Always On VPN cluster needs on a Citrix ADC.

Input shapes use the project's snake_case keys with NITRO's own vocabulary for values (``UDP``,
``LEASTCONNECTION``, ``SOURCEIP``, ``YES``); ``fetch`` reads the object back in exactly that shape.
NITRO answers with per-attribute JSON types (``port`` a number, ``weight`` a string, lbgroup ``timeout``
possibly a string), accepts lower-case enums and may echo canonical case, and reads some values back in
other units (monitor interval 60 SEC as 1 MIN): ``fetch`` normalises all of these (reference/citrix.md,
fidelity traps 3, 11, 16), so a refresh shows only real drift.

Writes: adds are ``POST /config/<res>`` (never retried: an add that reached the appliance but lost its
answer is found by name on the next run and adopted by its marker), changes ``PUT /config/<res>/<name>``
with only the changed attributes, binds ``PUT /config/<a>_<b>_binding`` (idempotent, so retried on a
transient failure; a "Resource already exists" (273) answer to a retried bind means it is in place),
unbinds and deletes ``DELETE`` with ``?args=``. ``?idempotent=yes`` (NITRO's add-or-update) is not used:
the base class always reads first and writes only what differs, so an upsert would only be able to
overwrite an object that someone else created between that read and the write, which is exactly what
the ownership marker must prevent.

Ownership (DESIGN.md): server, servicegroup and lbvserver carry this stack's marker in their
``comment``. Objects without a comment field are owned through the marked objects around them:

* a **binding** is owned when the marked object it hangs from carries our marker: member and monitor
  bindings belong to their servicegroup, a vserver→servicegroup binding to its lbvserver, a
  persistency-group binding to the lbvserver it puts into the group. Adopting, changing or unbinding a
  binding of an object that is not ours is refused; so is creating one under such an object.
* an **lbgroup** (persistency group) and an **lbmonitor** have no comment: each is owned unless it is
  in use by an object that is not ours (a group holding a vserver without our marker, a monitor bound
  to a servicegroup without our marker). A free object with this cluster's deterministic name is
  therefore adopted (and corrected) rather than refused.
* the global **mode** USNIP is shared by every workload on the appliance: it is enabled when needed and
  never disabled (deleting the resource leaves the appliance as it is); the outputs record whether it
  was already on when this stack first needed it (``was_enabled``).
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from pulumi.dynamic import CreateResult, UpdateResult

from providers.citrix.client import ALREADY_EXISTS, NitroClient, args_query, client_for
from providers.common.device import Device
from providers.common.errors import OwnershipError
from providers.common.resource import ApplianceObjectProvider, plain
from providers.common.save import DeviceSaveProvider

NOT_OURS = "not ours"


class NitroObjectProvider(ApplianceObjectProvider):
    """A NITRO object addressed by ``/config/<resource>/<name>``."""

    saves_after_delete = True
    resource: ClassVar[str] = ""
    #: The NITRO attribute holding the object's name (``servicegroupname`` for service groups).
    name_attr: ClassVar[str] = "name"

    def client(self, device: Device) -> NitroClient:
        return client_for(device, self._secrets)

    def object_id(self, props: dict[str, Any]) -> str:
        return str(props["name"])

    def label(self, props: dict[str, Any]) -> str:
        return f"{self.object_type} {self.object_id(props)}"

    def entry(self, client: NitroClient, props: dict[str, Any]) -> dict[str, Any] | None:
        found = client.get(self.resource, props["name"], what=self.label(props))
        return _first(found)

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        obj = self.entry(client, props)
        return None if obj is None else self.from_device(client, props, obj)

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        raise NotImplementedError

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        body = {self.name_attr: props["name"], **self.body(props, {*self.property_keys, "owner"})}
        client.call(
            "POST", self.resource, body={self.resource: body}, what=self.label(props), operation="add"
        )

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        body = {self.name_attr: props["name"], **self.body(props, set(changed))}
        client.call(
            "PUT",
            self.resource,
            props["name"],
            body={self.resource: body},
            what=self.label(props),
            operation="update",
        )

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.call(
            "DELETE",
            self.resource,
            props["name"],
            what=self.label(props),
            operation="delete",
            ok_codes=frozenset({258}),
        )


class ConfigSaveProvider(DeviceSaveProvider):
    """``save ns config`` after the cluster's objects."""

    what = "ns config"

    def client(self, device: Device) -> NitroClient:
        return client_for(device, self._secrets)


# -- marked objects ---------------------------------------------------------------------------------
class ServerProvider(NitroObjectProvider):
    """A server object per RRAS node: ``{name, address}``; the address can change in place."""

    object_type = "server"
    resource = "server"
    property_keys = ("address",)

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": obj.get("name", props["name"]),
            "address": _address(obj.get("ipaddress")),
            "owner": _comment(obj),
        }

    def body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "address" in keys:
            body["ipaddress"] = props["address"]
        if "owner" in keys:
            body["comment"] = props["owner"]
        return body


class ServiceGroupProvider(NitroObjectProvider):
    """A service group: ``{name, service_type (UDP…, replaces), usip (YES|NO)}``."""

    object_type = "servicegroup"
    resource = "servicegroup"
    name_attr = "servicegroupname"
    identity_keys = ("name", "service_type")
    property_keys = ("usip",)

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": obj.get("servicegroupname", props["name"]),
            "service_type": _upper(obj.get("servicetype")),
            "usip": _upper(obj.get("usip")) or "NO",
            "owner": _comment(obj),
        }

    def body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "usip" in keys:
            body["usip"] = props["usip"]
        if "owner" in keys:
            body["comment"] = props["owner"]
        return body

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        body = {
            "servicegroupname": props["name"],
            "servicetype": props["service_type"],
            **self.body(props, {*self.property_keys, "owner"}),
        }
        client.call(
            "POST", self.resource, body={self.resource: body}, what=self.label(props), operation="add"
        )


class LbVserverProvider(NitroObjectProvider):
    """A load-balancing vserver: ``{name, service_type, port (both replace), address, lb_method}``.

    Persistence is not managed here: the vserver sits in a persistency group whose settings override
    (and lock) its own (reference/citrix.md §4).
    """

    object_type = "lbvserver"
    resource = "lbvserver"
    identity_keys = ("name", "service_type", "port")
    property_keys: ClassVar[tuple[str, ...]] = ("address", "lb_method")

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": obj.get("name", props["name"]),
            "service_type": _upper(obj.get("servicetype")),
            "port": _int(obj.get("port")),
            "address": _address(obj.get("ipv46")),
            "lb_method": _upper(obj.get("lbmethod")) or "LEASTCONNECTION",
            "owner": _comment(obj),
        }

    def body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "address" in keys:
            body["ipv46"] = props["address"]
        if "lb_method" in keys:
            body["lbmethod"] = props["lb_method"]
        if "owner" in keys:
            body["comment"] = props["owner"]
        return body

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        body = {
            "name": props["name"],
            "servicetype": props["service_type"],
            "port": props["port"],
            **self.body(props, {*self.property_keys, "owner"}),
        }
        client.call(
            "POST", self.resource, body={self.resource: body}, what=self.label(props), operation="add"
        )


class PersistentLbVserverProvider(LbVserverProvider):
    """A vserver outside any persistency group that owns its persistence (SSTP):
    ``{..., persistence_type (SSLSESSION), persistence_backup (SOURCEIP|NONE), timeout (minutes)}``.

    The backup persistence uses the same timeout (``backuppersistencetimeout``).
    """

    property_keys = (*LbVserverProvider.property_keys, "persistence_type", "persistence_backup", "timeout")

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        out = super().from_device(client, props, obj)
        out.update(
            persistence_type=_upper(obj.get("persistencetype")) or "NONE",
            persistence_backup=_upper(obj.get("persistencebackup")) or "NONE",
            timeout=_int(obj.get("timeout")),
        )
        return out

    def body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        body = super().body(props, keys)
        if "persistence_type" in keys:
            body["persistencetype"] = props["persistence_type"]
        if "persistence_backup" in keys:
            body["persistencebackup"] = props["persistence_backup"]
        if "timeout" in keys:
            body["timeout"] = props["timeout"]
            body["backuppersistencetimeout"] = props["timeout"]
        return body


# -- objects without a comment field --------------------------------------------------------------
class LbGroupProvider(NitroObjectProvider):
    """A persistency group: ``{name, persistence_type (SOURCEIP…), timeout (minutes)}``.

    Owned unless it holds a vserver that does not carry our marker (see the module docstring).
    """

    object_type = "lbgroup"
    resource = "lbgroup"
    property_keys = ("persistence_type", "timeout")

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        members = client.get("lbgroup_lbvserver_binding", props["name"], what=self.label(props)) or []
        owner = props["owner"]
        for member in members:
            vserver = _first(
                client.get("lbvserver", str(member.get("vservername")), what=f"lbvserver {member}")
            )
            if vserver is not None and _comment(vserver) != props["owner"]:
                owner = f"holding lbvserver {member.get('vservername')} ({_owner_text(_comment(vserver))})"
                break
        return {
            "name": obj.get("name", props["name"]),
            "persistence_type": _upper(obj.get("persistencetype")) or "NONE",
            "timeout": _int(obj.get("timeout")),
            "owner": owner,
        }

    def body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "persistence_type" in keys:
            body["persistencetype"] = props["persistence_type"]
        if "timeout" in keys:
            body["timeout"] = props["timeout"]
        return body


class PingMonitorProvider(NitroObjectProvider):
    """A monitor: ``{name, monitor_type (PING; replaces), interval, response_timeout, retries, downtime}``.

    Times are in seconds in the inputs; they are always sent with unit SEC and read back in seconds
    whatever unit the appliance reports them in (60 SEC reads back as 1 MIN). Owned unless bound to a
    servicegroup that does not carry our marker (see the module docstring).
    """

    object_type = "lbmonitor"
    resource = "lbmonitor"
    name_attr = "monitorname"
    identity_keys = ("name", "monitor_type")
    property_keys: ClassVar[tuple[str, ...]] = ("interval", "response_timeout", "retries", "downtime")

    def entry(self, client: NitroClient, props: dict[str, Any]) -> dict[str, Any] | None:
        found = client.get(
            self.resource, props["name"], query=args_query(type=props["monitor_type"]), what=self.label(props)
        )
        return _first(found)

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        owner = props["owner"]
        bound = client.get("lbmonitor_servicegroup_binding", props["name"], what=self.label(props)) or []
        for binding in bound:
            group = _first(
                client.get(
                    "servicegroup", str(binding.get("servicegroupname")), what=f"servicegroup {binding}"
                )
            )
            if group is not None and _comment(group) != props["owner"]:
                owner = (
                    f"bound to servicegroup {binding.get('servicegroupname')} "
                    f"({_owner_text(_comment(group))})"
                )
                break
        return {
            "name": obj.get("monitorname", props["name"]),
            "monitor_type": _upper(obj.get("type")),
            "interval": _seconds(obj.get("interval"), obj.get("units3")),
            "response_timeout": _seconds(obj.get("resptimeout"), obj.get("units4")),
            "retries": _int(obj.get("retries")),
            "downtime": _seconds(obj.get("downtime"), obj.get("units2")),
            "owner": owner,
        }

    def body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        # An update must name the type as well as the monitor (reference/citrix.md, lbmonitor).
        body: dict[str, Any] = {"type": props["monitor_type"]}
        if "interval" in keys:
            body.update(interval=props["interval"], units3="SEC")
        if "response_timeout" in keys:
            body.update(resptimeout=props["response_timeout"], units4="SEC")
        if "retries" in keys:
            body["retries"] = props["retries"]
        if "downtime" in keys:
            body.update(downtime=props["downtime"], units2="SEC")
        return body

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.call(
            "DELETE",
            self.resource,
            props["name"],
            query=args_query(type=props["monitor_type"]),
            what=self.label(props),
            operation="delete",
            ok_codes=frozenset({258}),
        )


class HttpMonitorProvider(PingMonitorProvider):
    """An HTTP monitor of the SSTP listener: ``{name, monitor_type (HTTP), http_request, response_codes,
    secure (YES over TLS), interval, response_timeout, retries, downtime}``."""

    property_keys = (*PingMonitorProvider.property_keys, "http_request", "response_codes", "secure")

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        out = super().from_device(client, props, obj)
        codes = obj.get("respcode") or []
        out.update(
            http_request=obj.get("httprequest", ""),
            response_codes=sorted(str(c) for c in (codes if isinstance(codes, list) else [codes])),
            secure=_upper(obj.get("secure")) or "NO",
        )
        return out

    def body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        body = super().body(props, keys)
        if "http_request" in keys:
            body["httprequest"] = props["http_request"]
        if "response_codes" in keys:
            body["respcode"] = list(props["response_codes"])
        if "secure" in keys:
            body["secure"] = props["secure"]
        return body


class CertKeyProvider(NitroObjectProvider):
    """The SSTP certificate and key: two files under /nsconfig/ssl and an sslcertkey naming them.

    The PEMs come from secret config (inputs carry only the key names). An ADC refuses the same
    certificate under a second certkey name (273), so the name is derived from the certificate itself:
    ``<prefix>_<first 16 hex of its SHA-256>`` (within the 31 characters old builds allow). A new
    certificate is a new object: created before the old one is deleted, with the vserver binding moved
    in between (create-before-delete replacement). An sslcertkey has no comment: it is ours when it
    holds exactly the configured certificate.
    """

    object_type = "sslcertkey"
    resource = "sslcertkey"
    identity_keys = ("prefix",)
    property_keys = ()
    carried_keys = ("certificate_secret", "private_key_secret", "sha256", "certkey")
    delete_before_replace = False

    def _pems(self, props: dict[str, Any]) -> tuple[bytes, bytes]:
        where = f"SSTP certificate {props['prefix']}"
        cert = self._secrets.value(props["certificate_secret"], where, "<PEM certificate>").encode()
        key = self._secrets.value(props["private_key_secret"], where, "<PEM private key>").encode()
        return cert, key

    def _fingerprint(self, props: dict[str, Any]) -> str:
        from providers.f5.objects import certificate_sha256

        return certificate_sha256(self._pems(props)[0])

    def _name(self, props: dict[str, Any], fingerprint: str) -> str:
        return f"{props['prefix']}_{fingerprint[:16]}"

    def object_id(self, props: dict[str, Any]) -> str:
        return str(props.get("certkey") or props["prefix"])

    def label(self, props: dict[str, Any]) -> str:
        return f"sslcertkey {self.object_id(props)}"

    def content_replaces(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        return ["sha256"] if olds.get("sha256") != self._fingerprint(news) else []

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        fingerprint = props.get("sha256") or self._fingerprint(props)
        name = self._name(props, fingerprint)
        found = _first(client.get("sslcertkey", name, what=f"sslcertkey {name}"))
        if found is None:
            return None
        cert = _first(
            client.get(
                "systemfile",
                f"{name}.crt",
                query="args=filelocation:%2Fnsconfig%2Fssl",
                what=f"file {name}.crt",
            )
        )
        held = ""
        if cert is not None:
            import base64

            from providers.f5.objects import certificate_sha256

            try:
                held = certificate_sha256(base64.b64decode(str(cert.get("filecontent", ""))))
            except ValueError:
                held = ""
        return {
            "prefix": props["prefix"],
            "certkey": name,
            "sha256": held,
            "days_to_expiration": _int(found.get("daystoexpiration")),
            "owner": props["owner"]
            if held == fingerprint
            else f"a different certificate ({held[:16] or 'none'})",
        }

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        import base64

        cert_pem, key_pem = self._pems(props)
        name = self._name(props, self._fingerprint(props))
        for suffix, data in ((".key", key_pem), (".crt", cert_pem)):
            body = {
                "filename": f"{name}{suffix}",
                "filelocation": "/nsconfig/ssl/",
                "filecontent": base64.b64encode(data).decode(),
                "fileencoding": "BASE64",
            }
            client.call(
                "POST",
                "systemfile",
                body={"systemfile": body},
                what=f"file {name}{suffix}",
                operation="upload",
            )
        client.call(
            "POST",
            "sslcertkey",
            body={
                "sslcertkey": {"certkey": name, "cert": f"{name}.crt", "key": f"{name}.key", "inform": "PEM"}
            },
            what=f"sslcertkey {name}",
            operation="add",
        )

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        """Nothing to change in place: another certificate is a replacement."""

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        name = self._name(props, props.get("sha256") or self._fingerprint(props))
        client.call(
            "DELETE",
            "sslcertkey",
            name,
            what=f"sslcertkey {name}",
            operation="delete",
            ok_codes=frozenset({258}),
        )
        for suffix in (".crt", ".key"):
            client.call(
                "DELETE",
                "systemfile",
                f"{name}{suffix}",
                query="args=filelocation:%2Fnsconfig%2Fssl",
                what=f"file {name}{suffix}",
                operation="delete",
                ok_codes=frozenset({258}),
            )

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = dict(plain(props))
        props["sha256"] = self._fingerprint(props)
        props["certkey"] = self._name(props, props["sha256"])
        return super().create(props)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = dict(plain(news))
        news["sha256"] = self._fingerprint(news)
        news["certkey"] = self._name(news, news["sha256"])
        return super().update(_id, olds, news)


# -- bindings ---------------------------------------------------------------------------------------
class BindingProvider(ApplianceObjectProvider):
    """A NITRO binding ``<parent>_<child>_binding`` managed as a resource of its own.

    Bindings have no comment: a binding is owned when the marked object it hangs from (``owner_resource``
    named by ``owner_key``) carries our marker. ``fetch`` lists the parent's bindings of this kind and
    picks ours by its key attributes; a missing parent means a missing binding.
    """

    saves_after_delete = True
    binding: ClassVar[str] = ""
    #: Input key naming the parent in the URL (``/config/<binding>/<parent>``).
    parent_key: ClassVar[str] = ""
    #: The marked object that decides ownership: (NITRO resource, input key naming it).
    owner_resource: ClassVar[tuple[str, str]] = ("", "")
    #: Input key -> NITRO attribute, for the attributes that identify one binding under its parent.
    match: ClassVar[dict[str, str]] = {}
    #: NITRO attribute naming the parent in a bind body.
    parent_attr: ClassVar[str] = ""
    property_keys = ()
    #: The ids of the two objects the binding joins: the ADC removes a binding with either of them, so
    #: a replaced one replaces the binding in the same run.
    parent_keys = ("parents",)

    def client(self, device: Device) -> NitroClient:
        return client_for(device, self._secrets)

    def object_id(self, props: dict[str, Any]) -> str:
        return ",".join(str(props[k]) for k in self.identity_keys)

    def label(self, props: dict[str, Any]) -> str:
        return f"{self.object_type} {self.object_id(props)}"

    def _marker(self, client: NitroClient, props: dict[str, Any]) -> str | None:
        resource, key = self.owner_resource
        obj = _first(client.get(resource, props[key], what=f"{resource} {props[key]}"))
        return None if obj is None else (_comment(obj) or NOT_OURS)

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        entries = client.get(self.binding, props[self.parent_key], what=self.label(props))
        if not entries:
            return None
        for entry in entries:
            if all(_same(entry.get(attr), props[key]) for key, attr in self.match.items()):
                marker = self._marker(client, props)
                out = {key: props[key] for key in self.identity_keys}
                out["owner"] = props["owner"] if marker == props["owner"] else _owner_text(marker)
                return out
        return None

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        marker = self._marker(client, props)
        if marker is not None and marker != props["owner"]:
            resource, key = self.owner_resource
            raise OwnershipError(
                device=Device.from_props(props).host,
                obj=f"{resource} {props[key]}",
                expected=props["owner"],
                found=None if marker == NOT_OURS else marker,
                action=f"bind ({self.label(props)}) to",
            )
        body = {self.parent_attr: props[self.parent_key]}
        body.update({attr: props[key] for key, attr in self.match.items()})
        client.call(
            "PUT",
            self.binding,
            body={self.binding: body},
            what=self.label(props),
            operation="bind",
            ok_codes=frozenset({ALREADY_EXISTS}),
        )

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        """A binding has nothing to change in place: a different binding is a replacement."""

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.call(
            "DELETE",
            self.binding,
            props[self.parent_key],
            query=args_query(**{attr: props[key] for key, attr in self.match.items()}),
            what=self.label(props),
            operation="unbind",
            ok_codes=frozenset({258}),
        )


class ServiceGroupMemberProvider(BindingProvider):
    """A service group member: ``{servicegroup, server, port}`` (owned through the servicegroup)."""

    object_type = "servicegroup member"
    binding = "servicegroup_servicegroupmember_binding"
    identity_keys = ("servicegroup", "server", "port")
    parent_key = "servicegroup"
    parent_attr = "servicegroupname"
    owner_resource = ("servicegroup", "servicegroup")
    match = {"server": "servername", "port": "port"}


class ServiceGroupMonitorBindingProvider(BindingProvider):
    """A monitor bound to a service group: ``{servicegroup, monitor}`` (owned through the servicegroup)."""

    object_type = "servicegroup monitor binding"
    binding = "servicegroup_lbmonitor_binding"
    identity_keys = ("servicegroup", "monitor")
    parent_key = "servicegroup"
    parent_attr = "servicegroupname"
    owner_resource = ("servicegroup", "servicegroup")
    match = {"monitor": "monitor_name"}


class LbVserverServiceGroupBindingProvider(BindingProvider):
    """A service group bound to a vserver: ``{vserver, servicegroup}`` (owned through the vserver)."""

    object_type = "lbvserver servicegroup binding"
    binding = "lbvserver_servicegroup_binding"
    identity_keys = ("vserver", "servicegroup")
    parent_key = "vserver"
    parent_attr = "name"
    owner_resource = ("lbvserver", "vserver")
    match = {"servicegroup": "servicegroupname"}


class LbGroupVserverBindingProvider(BindingProvider):
    """A vserver in a persistency group: ``{group, vserver}`` (owned through the vserver)."""

    object_type = "lbgroup member"
    binding = "lbgroup_lbvserver_binding"
    identity_keys = ("group", "vserver")
    parent_key = "group"
    parent_attr = "name"
    owner_resource = ("lbvserver", "vserver")
    match = {"vserver": "vservername"}


class SslVserverCertKeyBindingProvider(BindingProvider):
    """A certificate bound to an SSL vserver: ``{vserver, certkey}`` (owned through the vserver)."""

    object_type = "sslvserver certkey binding"
    binding = "sslvserver_sslcertkey_binding"
    identity_keys = ("vserver", "certkey")
    parent_key = "vserver"
    parent_attr = "vservername"
    owner_resource = ("lbvserver", "vserver")
    match = {"certkey": "certkeyname"}


# -- global mode ------------------------------------------------------------------------------------
class ModeProvider(ApplianceObjectProvider):
    """A global ADC mode that must be on: ``{mode: "USNIP", enabled: true}``.

    Enabled when it is off; never disabled, also not on delete (other workloads on the appliance may
    rely on it), so a destroy leaves it as it is. ``was_enabled`` in the outputs records whether it was
    already on when this resource was created. A global setting carries no marker, so there is nothing
    to refuse: the resource's owner is always this stack.
    """

    object_type = "ns mode"
    identity_keys = ("mode",)
    property_keys = ("enabled",)
    carried_keys = ("was_enabled",)

    def client(self, device: Device) -> NitroClient:
        return client_for(device, self._secrets)

    def object_id(self, props: dict[str, Any]) -> str:
        return str(props["mode"]).upper()

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        modes = client.get("nsmode", what="ns mode")
        if isinstance(modes, list):  # tolerate the array form the doc template shows
            modes = modes[0] if modes else {}
        modes = modes or {}
        mode = str(props["mode"])
        flag = modes.get(mode.lower())
        if flag is None:
            listed = modes.get("mode") or []
            listed = listed.split() if isinstance(listed, str) else listed
            flag = mode.upper() in {str(m).upper() for m in listed}
        return {"mode": mode, "enabled": _bool(flag), "owner": props["owner"]}

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = plain(props)
        current = self.fetch(self.client_for(props), props) or {}
        return super().create({**props, "was_enabled": bool(current.get("enabled"))})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return super().update(_id, olds, {**news, "was_enabled": olds.get("was_enabled")})

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        raise RuntimeError("nsmode always exists")  # fetch never answers None

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        if props.get("enabled") and not current.get("enabled"):
            client.call(
                "POST",
                "nsmode",
                body={"nsmode": {"mode": [str(props["mode"]).upper()]}},
                query="action=enable",
                what=f"ns mode {props['mode']}",
                operation="enable",
            )

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Leave the mode as it is: other workloads on the appliance may rely on it."""

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        """Never called (see ``delete``)."""


# -- normalisation helpers ---------------------------------------------------------------------------
def _first(found: Any) -> dict[str, Any] | None:
    if isinstance(found, list):
        return found[0] if found and isinstance(found[0], dict) else None
    return found if isinstance(found, dict) else None


def _comment(obj: dict[str, Any]) -> str | None:
    value = obj.get("comment")
    return str(value) if value else None


def _owner_text(marker: str | None) -> str:
    return "not marked" if marker in (None, NOT_OURS) else f"marked {marker!r}"


def _upper(value: Any) -> str | None:
    return str(value).upper() if value is not None and value != "" else None


def _int(value: Any) -> Any:
    """NITRO numbers arrive as JSON numbers or strings (``"5"``, ``5.0``): compare them as ints."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() else value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def _seconds(value: Any, unit: Any) -> Any:
    number = _int(value)
    if not isinstance(number, int | float) or isinstance(number, bool):
        return number
    factor = {"MIN": 60, "SEC": 1, "MSEC": 0.001}.get(str(unit or "SEC").upper(), 1)
    return _int(number * factor)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "enabled", "on", "1")
    return bool(value)


def _address(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return str(value)


def _same(found: Any, wanted: Any) -> bool:
    """Compare a NITRO attribute with an input: numbers by value, names exactly."""
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        return _int(found) == _int(wanted)
    return found is not None and str(found) == str(wanted)
