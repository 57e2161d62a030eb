"""One dynamic provider per NITRO object an Always On VPN cluster needs on a Citrix ADC.

Input shapes use the project's snake_case keys with NITRO's own vocabulary for values (``UDP``,
``LEASTCONNECTION``, ``SOURCEIP``, ``YES``); ``fetch`` reads the object back in exactly that shape. NITRO
answers with per-attribute JSON types (``port`` a number, ``weight`` a string, lbgroup ``timeout`` possibly a
string), accepts lower-case enums and may echo canonical case, and reads some values back in other units
(monitor interval 60 SEC as 1 MIN): ``fetch`` normalises all of these
(docs/citrix.md#attribute-types-and-case, docs/citrix.md#monitors), so a refresh shows only real drift.

Writes: adds are ``POST /config/<res>``, changes ``PUT /config/<res>/<name>`` with only the changed
attributes, binds ``PUT /config/<a>_<b>_binding``, unbinds and deletes ``DELETE`` with ``?args=``. A create
is sent without a read before or after (providers/common/resource.py): NITRO answers an add with the bare
envelope, so the outputs are what was written; an add or bind the ADC refuses as already there (409
errorcode 273, or 2133 for a monitor already bound: ``already_exists``) is read and taken over by its
marker. A write whose answer was lost (a POST is never resent by the HTTP session) is read and decided by
the base. ``?idempotent=yes`` (NITRO's add-or-update) is not used: an upsert would overwrite an object that
someone else created under our name, which is exactly what the ownership marker must prevent.

Reads: every ``fetch`` goes through the client's per-run cache (one collection GET per resource, one bulk
binding GET per binding kind, per device and run: providers/citrix/client.py). A binding's create checks
the marker of the object it hangs from only when that object is not among its ``parents``: a parent id
there is a resource of this stack, created or adopted (so marker-checked) by it.

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

import base64
from typing import Any, ClassVar

from pulumi.output import Unknown

from providers.citrix.client import ALREADY_EXISTS, NitroClient, args_query, client_for
from providers.citrix.nitro import MARKED, NOT_OURS, comment, first, named, owner_text, same, unmarked
from providers.citrix.permissions import Need, commands, entity, require
from providers.common.certificates import FingerprintNamedCertificate, different_certificate, held_sha256
from providers.common.device import Device
from providers.common.diagnostics import tell
from providers.common.errors import ApplianceError, DeviceStateError, OwnershipError, ProviderError
from providers.common.fields import (
    Field,
    FieldMap,
    Seconds,
    canonical_address,
    number,
    truthy_text,
    upper,
    upper_or,
)
from providers.common.resource import ADOPT_KEY, ApplianceObjectProvider
from providers.common.save import DeviceSaveProvider

GONE = frozenset({258})  # NITRO's "no such resource": already deleted or unbound
#: "The monitor is already bound to the service": a duplicate monitor binding
#: (docs/citrix.md#status-and-error-codes)
MONITOR_ALREADY_BOUND = 2133


def refused_as_existing(exc: ApplianceError, codes: frozenset[int] = frozenset({ALREADY_EXISTS})) -> bool:
    """Whether NITRO refused a write because the object (or binding) is already there: 409 errorcode 273
    "Resource already exists" (docs/citrix.md#status-and-error-codes)."""
    return any(exc.code == f"errorcode {code}" for code in codes)


#: (device, object) -> the comment a declared adoption found there (a person's text the marker replaces).
FOUND_COMMENTS: dict[tuple[str, str], Any] = {}


class NitroObjectProvider(ApplianceObjectProvider):
    """A NITRO object addressed by ``/config/<resource>/<name>``, read and written through its name
    map (``fields``); adds send the whole map, updates the changed keys plus ``always_sent``."""

    saves_after_delete = True
    resource: ClassVar[str] = ""
    #: The NITRO attribute holding the object's name (``servicegroupname`` for service groups).
    name_attr: ClassVar[str] = "name"
    #: Input keys an update body always carries besides the changed ones (the name; a monitor's type).
    always_sent: ClassVar[tuple[str, ...]] = ("name",)

    def client(self, device: Device) -> NitroClient:
        return client_for(device, self._secrets)

    def require_access(self, props: dict[str, Any]) -> None:
        """The account must hold the commands this object needs (preview included:
        providers/citrix/permissions.py)."""
        require(self.client, props, self.needs(props))

    def needs(self, props: dict[str, Any]) -> list[Need]:
        """The commands this object needs the account to hold: show, add, set and rm of it."""
        name = props.get("name")
        if not isinstance(name, str):
            return []
        return [(command, self.label(props)) for command in commands(self.resource, name)]

    def object_id(self, props: dict[str, Any]) -> str:
        return str(props["name"])

    def entry(self, client: NitroClient, props: dict[str, Any]) -> dict[str, Any] | None:
        return client.read_object(self.resource, props["name"], what=self.label(props))

    def already_exists(self, exc: ApplianceError) -> bool:
        return refused_as_existing(exc)

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        obj = self.entry(client, props)
        if obj is None:
            return None
        found = self.from_device(client, props, obj)
        if _adopting(props):
            self._adoptable(props, found)
            if "owner" in self.fields.keys and unmarked(found.get("owner"), props["owner"]):
                FOUND_COMMENTS[_where(self, props)] = found.get("owner")
                found["owner"] = None
        return found

    def _adoptable(self, props: dict[str, Any], found: dict[str, Any]) -> None:
        """An adopted object must be the kind of object its role needs: the keys that identify it (a
        service group's type, a vserver's type and port, a monitor's type) cannot change in place."""
        wrong = []
        for key in self.identity_keys:
            if key == "name" or key not in self.fields.keys or same(found.get(key), props.get(key)):
                continue
            has, needs = self.fields.body(found, [key]), self.fields.body(props, [key])
            wrong += [f"{attr} {has.get(attr)} (the cluster needs {needs[attr]})" for attr in needs]
        if wrong:
            raise DeviceStateError(
                device=Device.from_props(props).host,
                obj=self.label(props),
                problem="cannot be adopted: it has " + "; ".join(wrong),
            )

    def preview_adoption(self, props: dict[str, Any]) -> None:
        """As the base does; an object without a comment of its own (lbgroup, lbmonitor) reads as ours
        when nothing else claims it, so its preview names what changes rather than saying nothing."""
        if "owner" in self.fields.keys:
            super().preview_adoption(props)
            return
        if _unknown(props, ("device", *self.identity_keys)):
            return
        device = Device.from_props(props)
        current = self.fetch(self.client_for(props), props)
        if current is None:
            tell(f"{device.host}: {self.label(props)} is not there to adopt; it will be created")
            return
        self._require_owner(device, props, current, "adopt")
        changes = self.describe_changes(props, current)
        tell(
            f"{device.host}: adopting {self.label(props)}: "
            + ("; ".join(changes) if changes else "no change")
        )

    def describe_changes(self, props: dict[str, Any], current: dict[str, Any]) -> list[str]:
        """As the base says, with the comment a person wrote where the marker will go."""
        lines = super().describe_changes(props, current)
        text = FOUND_COMMENTS.get(_where(self, props))
        if text:
            lines = [
                f"comment: {text} -> {props['owner']}" if line.startswith("comment: ") else line
                for line in lines
            ]
        return lines

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        return self.fields.read(obj, props)

    def body(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        return self.fields.body(props, keys)

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        """``POST /config/<resource>``: NITRO answers the bare envelope, so the outputs are what was
        written (``state_after_create``'s default)."""
        body = self.fields.body(props)
        client.call(
            "POST", self.resource, body={self.resource: body}, what=self.label(props), operation="add"
        )

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        body = self.fields.body(props, {*self.always_sent, *changed})
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
            "DELETE", self.resource, props["name"], what=self.label(props), operation="delete", ok_codes=GONE
        )


class ConfigSaveProvider(DeviceSaveProvider):
    """``save ns config`` after the cluster's objects."""

    what = "ns config"

    def client(self, device: Device) -> NitroClient:
        return client_for(device, self._secrets)

    def require_access(self, props: dict[str, Any]) -> None:
        require(self.client, props, [("save ns config", "ns config")])


# -- marked objects ---------------------------------------------------------------------------------
class ServerProvider(NitroObjectProvider):
    """A server object per RRAS node: ``{name, address}``; the address can change in place."""

    object_type = "server"
    resource = "server"
    property_keys = ("address",)
    fields = named() + FieldMap(Field("address", "ipaddress", from_device=canonical_address)) + MARKED

    def needs(self, props: dict[str, Any]) -> list[Need]:
        """Also enable and disable: a rolling restart drains the node (providers/citrix/drain.py)."""
        found = super().needs(props)
        if found:
            found += [
                (c, self.label(props))
                for c in commands(self.resource, props["name"], verbs=("disable", "enable"))
            ]
        return found


class ServiceGroupProvider(NitroObjectProvider):
    """A service group: ``{name, service_type (UDP…, replaces), usip (YES|NO)}``."""

    object_type = "servicegroup"
    resource = "servicegroup"
    name_attr = "servicegroupname"
    identity_keys = ("name", "service_type")
    property_keys = ("usip",)
    fields = (
        named("servicegroupname")
        + FieldMap(
            Field("service_type", "servicetype", from_device=upper),
            Field("usip", "usip", from_device=upper_or("NO")),
        )
        + MARKED
    )


class LbVserverProvider(NitroObjectProvider):
    """A load-balancing vserver: ``{name, service_type, port (both replace), address, lb_method}``.

    Persistence is not managed here: the vserver sits in a persistency group whose settings override
    (and lock) its own (docs/citrix.md#persistency-groups).
    """

    object_type = "lbvserver"
    resource = "lbvserver"
    identity_keys = ("name", "service_type", "port")
    property_keys: ClassVar[tuple[str, ...]] = ("address", "lb_method")
    fields = (
        named()
        + FieldMap(
            Field("service_type", "servicetype", from_device=upper),
            Field("port", "port", from_device=number),
            Field("address", "ipv46", from_device=canonical_address),
            Field("lb_method", "lbmethod", from_device=upper_or("LEASTCONNECTION")),
        )
        + MARKED
    )


class PersistentLbVserverProvider(LbVserverProvider):
    """A vserver outside any persistency group that owns its persistence (SSTP):
    ``{..., persistence_type (SSLSESSION), persistence_backup (SOURCEIP|NONE), timeout (minutes)}``.

    The backup persistence uses the same timeout (``backuppersistencetimeout``).
    """

    property_keys = (*LbVserverProvider.property_keys, "persistence_type", "persistence_backup", "timeout")
    fields = LbVserverProvider.fields + FieldMap(
        Field("persistence_type", "persistencetype", from_device=upper_or("NONE")),
        Field("persistence_backup", "persistencebackup", from_device=upper_or("NONE")),
        Field("timeout", "timeout", from_device=number, also=("backuppersistencetimeout",)),
    )


# -- objects without a comment field --------------------------------------------------------------
class LbGroupProvider(NitroObjectProvider):
    """A persistency group: ``{name, persistence_type (SOURCEIP…), timeout (minutes)}``.

    Owned unless it holds a vserver that does not carry our marker (see the module docstring).
    """

    object_type = "lbgroup"
    resource = "lbgroup"
    property_keys = ("persistence_type", "timeout")
    fields = named() + FieldMap(
        Field("persistence_type", "persistencetype", from_device=upper_or("NONE")),
        Field("timeout", "timeout", from_device=number),
    )

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        members = client.read_bindings("lbgroup_lbvserver_binding", props["name"], what=self.label(props))
        owner = props["owner"]
        for member in members:
            name = str(member.get("vservername"))
            vserver = client.read_object("lbvserver", name, what=f"lbvserver {name}")
            marker = comment(vserver) if vserver is not None else None
            if vserver is not None and marker != props["owner"]:
                if _adopting(props) and unmarked(marker, props["owner"]):
                    continue  # adopted with the cluster's vservers (their own adoption marks them)
                owner = f"holding lbvserver {member.get('vservername')} ({owner_text(marker)})"
                break
        return {**super().from_device(client, props, obj), "owner": owner}


class PingMonitorProvider(NitroObjectProvider):
    """A monitor: ``{name, monitor_type (PING; replaces), interval, response_timeout, retries, downtime}``.

    Times are in seconds in the inputs; they are always sent with unit SEC and read back in seconds
    whatever unit the appliance reports them in (60 SEC reads back as 1 MIN). Owned unless bound to a
    servicegroup that does not carry our marker (see the module docstring). A monitor is identified by
    its name and type: an update must name the type as well (docs/citrix.md#monitors).
    """

    object_type = "lbmonitor"
    resource = "lbmonitor"
    name_attr = "monitorname"
    identity_keys = ("name", "monitor_type")
    property_keys: ClassVar[tuple[str, ...]] = ("interval", "response_timeout", "retries", "downtime")
    always_sent = ("name", "monitor_type")
    fields = named("monitorname") + FieldMap(
        Field("monitor_type", "type", from_device=upper),
        Seconds("interval", "interval", "units3"),
        Seconds("response_timeout", "resptimeout", "units4"),
        Field("retries", "retries", from_device=number),
        Seconds("downtime", "downtime", "units2"),
    )

    def entry(self, client: NitroClient, props: dict[str, Any]) -> dict[str, Any] | None:
        if _adopting(props):  # by name alone: a monitor of another type is refused by name, not missed
            return client.read_object(self.resource, props["name"], what=self.label(props))
        found = client.read_object(
            self.resource, props["name"], query=args_query(type=props["monitor_type"]), what=self.label(props)
        )
        # from the collection: a monitor of this name but another type is not this one
        if found is None or upper(found.get("type")) != upper(props["monitor_type"]):
            return None
        return found

    def from_device(self, client: NitroClient, props: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        owner = props["owner"]
        bound = client.read_bindings("lbmonitor_servicegroup_binding", props["name"], what=self.label(props))
        for binding in bound:
            name = str(binding.get("servicegroupname"))
            group = client.read_object("servicegroup", name, what=f"servicegroup {name}")
            marker = comment(group) if group is not None else None
            if group is not None and marker != props["owner"]:
                if _adopting(props) and unmarked(marker, props["owner"]):
                    continue  # adopted with the cluster's service groups
                owner = f"bound to servicegroup {name} ({owner_text(marker)})"
                break
        return {**super().from_device(client, props, obj), "owner": owner}

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.call(
            "DELETE",
            self.resource,
            props["name"],
            query=args_query(type=props["monitor_type"]),
            what=self.label(props),
            operation="delete",
            ok_codes=GONE,
        )


def _codes(value: Any) -> list[str]:
    codes = value or []
    return sorted(str(c) for c in (codes if isinstance(codes, list) else [codes]))


class HttpMonitorProvider(PingMonitorProvider):
    """An HTTP monitor of the SSTP listener: ``{name, monitor_type (HTTP), http_request, response_codes,
    secure (YES over TLS), interval, response_timeout, retries, downtime}``."""

    property_keys = (*PingMonitorProvider.property_keys, "http_request", "response_codes", "secure")
    fields = PingMonitorProvider.fields + FieldMap(
        Field("http_request", "httprequest", default=""),
        Field("response_codes", "respcode", to_device=list, from_device=_codes),
        Field("secure", "secure", from_device=upper_or("NO")),
    )


def _held(systemfile: dict[str, Any] | None) -> str:
    """The fingerprint of the certificate file the ADC holds ("" when there is none or it is no PEM)."""
    if systemfile is None:
        return ""
    try:
        return held_sha256(base64.b64decode(str(systemfile.get("filecontent", ""))))
    except ValueError:
        return ""


class CertKeyProvider(FingerprintNamedCertificate, NitroObjectProvider):
    """The SSTP certificate and key: two files under /nsconfig/ssl and an sslcertkey naming them.

    Named by fingerprint (providers.common.certificates): an ADC refuses the same certificate under a
    second certkey name (273), so the name is ``<prefix>_<first 16 hex of its SHA-256>`` (within the 31
    characters old builds allow); a new certificate is a new object, created before the old one is
    deleted, with the vserver binding moved in between. Ours when it holds exactly this certificate.
    """

    object_type = "sslcertkey"
    resource = "sslcertkey"
    identity_keys = ("prefix",)
    property_keys = ()
    carried_keys = ("certificate_secret", "private_key_secret", "sha256", "certkey")
    name_key = "certkey"
    SSL_DIR = "args=filelocation:%2Fnsconfig%2Fssl"

    def object_id(self, props: dict[str, Any]) -> str:
        return str(props.get("certkey") or props["prefix"])

    def needs(self, props: dict[str, Any]) -> list[Need]:
        """The certkey and its two files: their names come from the certificate's fingerprint (only the
        prefix when the secrets cannot be read yet)."""
        if not isinstance(props.get("prefix"), str):
            return []
        try:
            name = self.device_name(props, self.fingerprint(props))
        except (ProviderError, ValueError):
            name = str(props["prefix"])
        label = f"sslcertkey {name}"
        found = [(c, label) for c in commands("sslcertkey", name, verbs=("show", "add", "rm"))]
        for suffix in (".crt", ".key"):
            found += [(c, label) for c in commands("systemfile", name + suffix, verbs=("show", "add", "rm"))]
        return found

    def _name(self, props: dict[str, Any]) -> str:
        return self.device_name(props, self.recorded_fingerprint(props))

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        fingerprint = self.recorded_fingerprint(props)
        name = self._name(props)
        found = first(client.get("sslcertkey", name, what=f"sslcertkey {name}"))
        if found is None:
            return None
        cert = first(client.get("systemfile", f"{name}.crt", query=self.SSL_DIR, what=f"file {name}.crt"))
        held = _held(cert)
        return {
            "prefix": props["prefix"],
            "certkey": name,
            "sha256": held,
            "days_to_expiration": number(found.get("daystoexpiration")),
            "owner": props["owner"] if held == fingerprint else different_certificate(held),
        }

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        cert_pem, key_pem = self.pems(props)
        name = self._name(props)
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
        certkey = {"certkey": name, "cert": f"{name}.crt", "key": f"{name}.key", "inform": "PEM"}
        client.call(
            "POST", "sslcertkey", body={"sslcertkey": certkey}, what=f"sslcertkey {name}", operation="add"
        )

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        name = self._name(props)
        client.call(
            "DELETE", "sslcertkey", name, what=f"sslcertkey {name}", operation="delete", ok_codes=GONE
        )
        for suffix in (".crt", ".key"):
            client.call(
                "DELETE",
                "systemfile",
                f"{name}{suffix}",
                query=self.SSL_DIR,
                what=f"file {name}{suffix}",
                operation="delete",
                ok_codes=GONE,
            )


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

    def require_access(self, props: dict[str, Any]) -> None:
        require(self.client, props, self.needs(props))

    def needs(self, props: dict[str, Any]) -> list[Need]:
        """Reading the parent's bindings and the marked object, bind and unbind (the CLI names the child
        after the parent: ``bind lb vserver vs1 sg1``)."""
        resource, key = self.owner_resource
        words = [props.get(self.parent_key), *(props.get(k) for k in self.match)]
        if not all(isinstance(w, str | int) and not isinstance(w, bool) for w in [*words, props.get(key)]):
            return []
        parent, *child = (str(w) for w in words)
        label = self.label(props)
        found = [
            (f"show {entity(self.binding)} {parent}", label),
            (f"show {entity(resource)} {props[key]}", label),
        ]
        found += [(c, label) for c in commands(self.binding, parent, *child, verbs=("bind", "unbind"))]
        return found

    def object_id(self, props: dict[str, Any]) -> str:
        return ",".join(str(props[k]) for k in self.identity_keys)

    def _marker(self, client: NitroClient, props: dict[str, Any], *, fresh: bool = False) -> str | None:
        """The marker of the object the binding hangs from (this run's read of its collection, or the
        device's own answer now when ``fresh``); None when it is not there."""
        resource, key = self.owner_resource
        what = f"{resource} {props[key]}"
        obj = first(client.get(resource, props[key], what=what)) if fresh else None
        if not fresh:
            obj = client.read_object(resource, str(props[key]), what=what)
        return None if obj is None else (comment(obj) or NOT_OURS)

    def _proven(self, props: dict[str, Any]) -> bool:
        """Whether the object the binding hangs from is one of its ``parents``: a resource of this stack,
        which created or adopted it (so checked its marker) in this run or an earlier one."""
        _, key = self.owner_resource
        parents = props.get("parents")
        return isinstance(parents, list | tuple) and str(props[key]) in {str(p) for p in parents}

    def already_exists(self, exc: ApplianceError) -> bool:
        return refused_as_existing(exc)

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        match = {attr: props[key] for key, attr in self.match.items()}
        row = client.read_binding(self.binding, props[self.parent_key], match, what=self.label(props))
        for entry in [row] if row is not None else []:
            if all(same(entry.get(attr), props[key]) for key, attr in self.match.items()):
                marker = self._marker(client, props)
                out = {key: props[key] for key in self.identity_keys}
                if marker == props["owner"]:
                    out["owner"] = props["owner"]
                elif _adopting(props) and unmarked(marker, props["owner"]):
                    out["owner"] = None  # taken over with the object it hangs from
                else:
                    out["owner"] = owner_text(marker)
                return out
        return None

    def preview_adoption(self, props: dict[str, Any]) -> None:
        """A binding has no properties to change: the preview says only when it is missing (it will be
        made), or refuses one under an object another stack marked."""
        if _unknown(props, ("device", *self.identity_keys)):
            return
        current = self.fetch(self.client_for(props), props)
        device = Device.from_props(props)
        if current is None:
            tell(f"{device.host}: {self.label(props)} is not there to adopt; it will be created")
        elif current.get("owner") not in (None, props["owner"]):
            self._require_owner(device, props, current, "adopt")

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        """``PUT /config/<binding>``; the parent's marker is read first only when it is not proven by
        ``parents`` (``_proven``). A bind refused as already there is read and taken over by the base."""
        marker = props["owner"] if self._proven(props) else self._marker(client, props, fresh=True)
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
            ok_codes=GONE,
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

    def already_exists(self, exc: ApplianceError) -> bool:
        """273, or the ADC's own refusal of a second bind of the monitor (its message; the code is the
        twin's, unconfirmed: docs/citrix.md#collections-and-bulk-bindings)."""
        return refused_as_existing(exc, frozenset({ALREADY_EXISTS, MONITOR_ALREADY_BOUND})) or (
            "already bound to the service" in str(exc.vendor_message or "")
        )


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
    #: nsmode always exists: its "create" is enabling the mode, decided from a read.
    reads_before_create = True
    identity_keys = ("mode",)
    property_keys = ("enabled",)
    carried_keys = ("was_enabled",)

    def client(self, device: Device) -> NitroClient:
        return client_for(device, self._secrets)

    def object_id(self, props: dict[str, Any]) -> str:
        return str(props["mode"]).upper()

    def require_access(self, props: dict[str, Any]) -> None:
        mode = props.get("mode")
        if isinstance(mode, str):
            label = f"ns mode {mode.upper()}"
            require(self.client, props, [("show ns mode", label), (f"enable ns mode {mode.upper()}", label)])

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        modes = client.read_singleton("nsmode", what="ns mode")
        if isinstance(modes, list):  # tolerate the array form the doc template shows
            modes = modes[0] if modes else {}
        modes = modes or {}
        mode = str(props["mode"])
        flag = modes.get(mode.lower())
        if flag is None:
            listed = modes.get("mode") or []
            listed = listed.split() if isinstance(listed, str) else listed
            flag = mode.upper() in {str(m).upper() for m in listed}
        return {"mode": mode, "enabled": truthy_text(flag), "owner": props["owner"]}

    def prepare(self, props: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        if olds is not None:
            return {**props, "was_enabled": olds.get("was_enabled")}
        current = self.fetch(self.client_for(props), props) or {}
        return {**props, "was_enabled": bool(current.get("enabled"))}

    def apply(self, props: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """There is nothing to add: a create takes the mode over as ``prepare`` read it (this run's one
        read of nsmode) and enables it when it is off."""
        if olds is not None:
            return super().apply(props, olds)
        client = self.client_for(props)
        current = self.fetch(client, props) or {"mode": props["mode"], "owner": props["owner"]}
        return self._take_over(client, props, current, adopting=False)

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        # never called (see ``apply``): nsmode always exists
        raise DeviceStateError(
            device=Device.from_props(props).host, obj=self.label(props), problem="is missing from nsmode"
        )

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


def _adopting(props: dict[str, Any]) -> bool:
    """Whether the declaration adopts this object (``loadBalancer.adopt``: providers/common/resource.py)."""
    return props.get(ADOPT_KEY) is True


def _where(provider: ApplianceObjectProvider, props: dict[str, Any]) -> tuple[str, str]:
    return Device.from_props(props).url, provider.label(props)


def _unknown(props: dict[str, Any], keys: tuple[str, ...]) -> bool:
    """Whether any of ``keys`` is still unknown (a preview of an object whose parent is new)."""

    def has(value: Any) -> bool:
        if isinstance(value, dict):
            return any(has(v) for v in value.values())
        return isinstance(value, Unknown)

    return any(has(props.get(k)) for k in keys)
