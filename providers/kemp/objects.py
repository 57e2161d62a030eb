"""One dynamic provider per LoadMaster object an Always On VPN cluster needs.

Virtual services are addressed by their (address, port, protocol) triplet, never by ``Index``: indexes are
renumbered by the appliance after global changes (docs/kemp.md#indexes-and-renumbering). A virtual service
carries this stack's ownership marker in its ``NickName`` (``<object name> <marker>``; the LoadMaster has no
description field). Real servers and port following have no text field of their own: they are owned through
the virtual service they belong to.

Reads come from the run's one ``listvs`` (services with their real servers) and from the answers of the run's
own writes (providers/kemp/client.py, docs/kemp.md#request-economy): a create sends one write and takes its
outputs from the answer; a real server or port following finds its service's marker and ``Index`` there.

Each type's name map (providers.common.fields) turns the ``showvs``/``showrs`` fields into the input shape and
the inputs into ``addvs``/``modvs``/``addrs``/``modrs`` parameters (names are case-insensitive on the wire).
Read-back normalisation (docs/kemp.md#values-and-defaults): booleans arrive as Y/N, numbers as text, absent
elements mean "off" (``Persist`` is omitted when persistence is off, ``NickName`` when empty)."""

from __future__ import annotations

from typing import Any, ClassVar

from providers.common.certificates import FingerprintNamedCertificate
from providers.common.device import Device
from providers.common.errors import ApplianceError, DeviceStateError, OwnershipError, ProviderError
from providers.common.fields import (
    FROM_INPUTS,
    Field,
    FieldMap,
    Joint,
    Props,
    as_bool,
    digits_or_zero,
    is_yes,
    lower,
)
from providers.common.resource import ADOPT_KEY, ApplianceObjectProvider
from providers.common.retry import with_retries
from providers.kemp.client import KempClient, client_for, fields, vs_key
from providers.kemp.permissions import ALL, OBJECT_PERMISSIONS, MissingPermission

NOT_OURS = "not ours"
#: How every ownership marker begins (components.naming.owner_marker); the NickName's last word is a marker
#: only when it begins so: a name a person gave may have spaces of its own ("AOVPN IKE").
MARKER_PREFIX = "aovpn-iac:"


def vs_params(vs: dict[str, Any]) -> dict[str, Any]:
    return {"vs": vs["address"], "port": vs["port"], "prot": vs["protocol"]}


def vs_label(vs: dict[str, Any]) -> str:
    return f"virtual service {vs['address']}:{vs['port']}/{vs['protocol']}"


def nickname_owner(nickname: str | None) -> tuple[str | None, str | None]:
    """``vpn-lab_ikev2_500 aovpn-iac:aovpn/prod`` -> (name, marker); ``AOVPN IKE`` (a service a person
    named, with no marker) -> (``AOVPN IKE``, None)."""
    if not nickname:
        return None, None
    name, _, marker = nickname.rpartition(" ")
    if name and marker.startswith(MARKER_PREFIX):
        return name, marker
    return nickname, None


class KempProvider(ApplianceObjectProvider):
    def client(self, device: Device) -> KempClient:
        return client_for(device, self._secrets)

    def require_access(self, props: dict[str, Any]) -> None:
        """Fails the preview when the account's own permissions, read once per device, lack the one this
        object type needs (providers/kemp/permissions.py); nothing is written before."""
        needed = OBJECT_PERMISSIONS.get(self.object_type)
        if needed is None or not isinstance(props.get("device"), dict):
            return
        try:
            device = Device.from_props(props)
            has = self.client(device).account_permissions()
        except ProviderError:  # no secret yet, or no device: the write path reports it as before
            return
        if has is None or ALL in has or needed in has:
            return
        try:
            obj = self.label(props)
        except (KeyError, TypeError):
            obj = self.object_type
        raise MissingPermission(device=device.host, obj=obj, user=device.user, permission=needed, has=has)

    def already_exists(self, exc: ApplianceError) -> bool:
        """``addvs`` / ``addrs`` of a service or real server that is there: 422 "... already exists"
        (the text is unconfirmed, docs/kemp.md#unconfirmed-behaviour; older firmware answers HTTP 200 with
        the error element, docs/kemp.md#request-economy)."""
        return exc.status in (200, 422) and "already exist" in exc.vendor_message.lower()

    def describe_changes(self, props: dict[str, Any], current: dict[str, Any]) -> list[str]:
        """What adoption changes, as ``showvs`` spells it (``Transparent: N -> Y``), once per attribute (the
        name and the marker are both the ``NickName``). A real server's or port following's marker is its
        virtual service's: not a change of its own."""
        found_props = {**current, "owner": current.get("owner") or ""}
        lines: list[str] = []
        for key in self._changed(props, current):
            if key not in self.fields.keys:
                continue
            declared = self.fields.body(props, [key])
            found = self.fields.body(found_props, [key])
            for attribute, value in declared.items():
                line = f"{attribute}: {_shown(found.get(attribute))} -> {_shown(value)}"
                if line not in lines:
                    lines.append(line)
        return lines

    def show_vs(self, client: KempClient, vs: dict[str, Any]) -> dict[str, Any] | None:
        """The virtual service's fields (its real servers' under ``Rs``) from this run's reads: one
        ``listvs`` per run, kept current by the run's own writes (providers/kemp/client.py)."""
        return client.virtual_service(vs["address"], vs["port"], vs["protocol"], what=vs_label(vs))


def _shown(value: Any) -> str:
    """A value as the LoadMaster shows it: Y/N booleans, "(none)" for an absent one."""
    if isinstance(value, bool):
        return "Y" if value else "N"
    text = str(value).strip() if value is not None else ""
    return text or "(none)"


def _flag(key: str, device: str, default: str) -> Field:
    """A LoadMaster boolean: sent as a bool (Y/N on the wire), read back from Y/N."""
    return Field(key, device, to_device=as_bool, from_device=is_yes, default=default)


def _nickname_to_device(props: Props) -> dict[str, Any]:
    return {"NickName": f"{props['name']} {props['owner']}"}


def _nickname_from_device(vs: Props, _props: Props) -> dict[str, Any]:
    name, marker = nickname_owner(vs.get("NickName"))
    return {"name": name, "owner": marker}


def _persist_to_device(props: Props) -> dict[str, Any]:
    # Persist and its timeout travel together: a timeout alone can switch persistence on
    # (docs/kemp.md#persistence-timeout).
    return {"Persist": props["persist"], "PersistTimeout": props["persist_timeout"]}


def _persist_from_device(vs: Props, _props: Props) -> dict[str, Any]:
    return {
        "persist": vs.get("Persist") or "none",
        "persist_timeout": digits_or_zero(vs.get("PersistTimeout", "0")),
    }


def _acceleration_to_device(props: Props) -> dict[str, Any]:
    # SSL acceleration before the certificate: turning it off clears CertFile
    # (docs/kemp.md#ssl-acceleration-and-certificates)
    params: dict[str, Any] = {"SSLAcceleration": bool(props["ssl_acceleration"])}
    if props["ssl_acceleration"]:
        params["CertFile"] = props["cert_file"]
    return params


def _acceleration_from_device(vs: Props, _props: Props) -> dict[str, Any]:
    accelerated = vs.get("SSLAcceleration", "N") == "Y"
    return {"ssl_acceleration": accelerated, "cert_file": vs.get("CertFile", "") if accelerated else ""}


class VirtualServiceProvider(KempProvider):
    """``{name, address, port, protocol (identity), enabled, transparent, force_l7, persist,
    persist_timeout (s), schedule, check_type}``."""

    object_type = "virtual service"
    identity_keys = ("address", "port", "protocol")
    property_keys: ClassVar[tuple[str, ...]] = (
        "name",
        "enabled",
        "transparent",
        "force_l7",
        "persist",
        "persist_timeout",
        "schedule",
        "check_type",
    )
    delete_before_replace = True
    fields = FieldMap(
        # the triplet addresses the service (vs_params); read back, never written as attributes
        Field("address", "VSAddress", default=FROM_INPUTS, written=False),
        Field("port", "VSPort", from_device=int, default=FROM_INPUTS, written=False),
        Field("protocol", "Protocol", from_device=lower, default=FROM_INPUTS, written=False),
        Joint(("name", "owner"), _nickname_to_device, _nickname_from_device),
        _flag("enabled", "Enable", "Y"),
        _flag("transparent", "Transparent", "N"),
        _flag("force_l7", "ForceL7", "N"),
        Joint(("persist", "persist_timeout"), _persist_to_device, _persist_from_device),
        Field("schedule", "Schedule", default="rr"),
        Field("check_type", "CheckType", default="tcp"),
    )

    def object_id(self, props: dict[str, Any]) -> str:
        return f"{props['address']}:{props['port']}/{props['protocol']}"

    def label(self, props: dict[str, Any]) -> str:
        return vs_label(props)

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        vs = self.show_vs(client, props)
        return None if vs is None else self.fields.read(vs, props)

    def create_object(self, client: Any, props: dict[str, Any]) -> Any:
        return client.command(
            "addvs", {**vs_params(props), **self.fields.body(props)}, what=self.label(props)
        )

    def state_after_create(self, client: Any, props: dict[str, Any], reply: Any) -> dict[str, Any]:
        """``addvs`` answers the whole service as ``showvs`` shows it (docs/kemp.md#request-economy): the
        outputs are what the LoadMaster made of the inputs, with no read. An answer that describes another
        service (reported under concurrent creates) is not trusted: the service is read."""
        found = fields(reply)
        answered = vs_key(found.get("VSAddress"), found.get("VSPort"), found.get("Protocol"))
        if answered != vs_key(props["address"], props["port"], props["protocol"]):
            return self._fetch_required(client, props)
        return self.fields.read(found, props)

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        params = {**vs_params(props), **self.fields.body(props, changed)}
        client.command("modvs", params, what=self.label(props))

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        # safe to send again: a service already gone answers "Unknown VS"
        with_retries(
            lambda: client.command("delvs", vs_params(props), what=self.label(props), ok_missing=True)
        )


class HealthCheckedVirtualServiceProvider(VirtualServiceProvider):
    """A virtual service with an HTTP(S) health check (SSTP): adds ``check_url``, ``check_codes`` and
    ``check_use_get`` (0 HEAD, 1 GET, 2 POST) to the virtual service's keys."""

    property_keys: ClassVar[tuple[str, ...]] = (
        *VirtualServiceProvider.property_keys,
        "check_url",
        "check_codes",
        "check_use_get",
    )
    fields = VirtualServiceProvider.fields + FieldMap(
        Field("check_url", "CheckUrl", default=""),
        Field("check_codes", "CheckCodes", default=""),
        Field("check_use_get", "CheckUseGet", from_device=digits_or_zero, default="0"),
    )


class SstpVirtualServiceProvider(HealthCheckedVirtualServiceProvider):
    """The SSTP virtual service, with ``ssl_acceleration``, ``cert_file`` and ``ssl_reencrypt`` (offload)."""

    property_keys: ClassVar[tuple[str, ...]] = (
        *HealthCheckedVirtualServiceProvider.property_keys,
        "ssl_acceleration",
        "cert_file",
        "ssl_reencrypt",
    )
    fields = HealthCheckedVirtualServiceProvider.fields + FieldMap(
        Joint(("ssl_acceleration", "cert_file"), _acceleration_to_device, _acceleration_from_device),
        _flag("ssl_reencrypt", "SSLReencrypt", "N"),
    )


class CertificateProvider(FingerprintNamedCertificate, KempProvider):
    """The SSTP certificate and key, installed with ``addcert`` as ``<prefix>_<first 16 hex of SHA-256>``.

    Named by fingerprint (providers.common.certificates): a new certificate is a new object, created
    before the old one is deleted, with the virtual service moved to it in between. Certificates carry
    no marker: one with this name is ours when it holds this certificate, which its name says.
    """

    object_type = "certificate"
    identity_keys = ("prefix",)
    property_keys: ClassVar[tuple[str, ...]] = ()
    carried_keys = ("certificate_secret", "private_key_secret", "sha256", "name")
    name_key = "name"

    def _bundle(self, props: dict[str, Any]) -> bytes:
        cert, key = self.pems(props)
        return (cert.decode().strip() + "\n" + key.decode().strip() + "\n").encode()

    def _name(self, props: dict[str, Any]) -> str:
        return self.device_name(props, self.recorded_fingerprint(props))

    def object_id(self, props: dict[str, Any]) -> str:
        return str(props.get("name") or props["prefix"])

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        fingerprint = self.recorded_fingerprint(props)
        name = self.device_name(props, fingerprint)
        if name not in client.certificate_names(what="certificates"):
            return None
        return {"prefix": props["prefix"], "name": name, "sha256": fingerprint, "owner": props["owner"]}

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        name = self._name(props)
        client.upload(
            "addcert", {"cert": name, "replace": 0}, self._bundle(props), what=f"certificate {name}"
        )

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        name = self._name(props)
        with_retries(
            lambda: client.command("delcert", {"cert": name}, what=f"certificate {name}", ok_missing=True)
        )


class VsChildProvider(KempProvider):
    """Objects owned through their virtual service's marker (inputs carry ``vs``: the VS triplet)."""

    def _marker(self, client: KempClient, props: dict[str, Any]) -> str | None:
        vs = self.show_vs(client, props["vs"])
        if vs is None:
            return None
        return nickname_owner(vs.get("NickName"))[1] or NOT_OURS

    def _require_vs_owner(self, client: KempClient, props: dict[str, Any], action: str) -> None:
        marker = self._marker(client, props)
        if marker is not None and marker != props["owner"]:
            raise OwnershipError(
                device=Device.from_props(props).host,
                obj=vs_label(props["vs"]),
                expected=props["owner"],
                found=None if marker == NOT_OURS else marker,
                action=f"{action} ({self.label(props)}) on",
            )

    def owner_of(self, client: KempClient, props: dict[str, Any]) -> str | None:
        """Whose the object is, by its virtual service's marker. A real server or port following on a
        service that carries no marker, of a cluster whose declaration adopts that service (``adopt``), is
        unmarked itself: it is taken over with the service (providers/common/resource.py, adoption)."""
        marker = self._marker(client, props)
        if marker == props["owner"]:
            return marker
        if marker == NOT_OURS and props.get(ADOPT_KEY) is True:
            return None
        return f"through {vs_label(props['vs'])}: {marker}"


class RealServerProvider(VsChildProvider):
    """``{vs, address, port (identity), weight, enabled}``: an RRAS node behind one virtual service.
    ``vs_id`` (the virtual service resource's id): ``delvs`` takes the real servers with it, so a replaced
    virtual service replaces them too."""

    object_type = "real server"
    identity_keys = ("vs", "address", "port")
    parent_keys = ("vs_id",)
    property_keys = ("weight", "enabled")
    delete_before_replace = True
    fields = FieldMap(
        Field("address", "Addr", default=FROM_INPUTS, written=False),
        Field("port", "Port", from_device=int, default=FROM_INPUTS, written=False),
        Field("weight", "Weight", from_device=int, default="1000"),
        _flag("enabled", "Enable", "Y"),
    )

    def object_id(self, props: dict[str, Any]) -> str:
        vs = props["vs"]
        return f"{vs['address']}:{vs['port']}/{vs['protocol']}/{props['address']}:{props['port']}"

    def label(self, props: dict[str, Any]) -> str:
        return f"real server {props['address']}:{props['port']} of {vs_label(props['vs'])}"

    def _rs(self, props: dict[str, Any]) -> dict[str, Any]:
        return {**vs_params(props["vs"]), "rs": props["address"], "rsport": props["port"]}

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        """From its virtual service's ``Rs`` elements (``listvs`` carries them): no ``showrs`` per node."""
        vs = self.show_vs(client, props["vs"])
        wanted = (str(props["address"]), str(props["port"]))
        rs = next((r for r in (vs or {}).get("Rs", []) if (r.get("Addr"), r.get("Port")) == wanted), None)
        if rs is None:
            return None
        return {"vs": props["vs"], **self.fields.read(rs, props), "owner": self.owner_of(client, props)}

    def create_object(self, client: Any, props: dict[str, Any]) -> Any:
        self._require_vs_owner(client, props, "add")
        return client.command("addrs", {**self._rs(props), **self.fields.body(props)}, what=self.label(props))

    def state_after_create(self, client: Any, props: dict[str, Any], reply: Any) -> dict[str, Any]:
        """``addrs`` answers the real server (``<Rs>``, docs/kemp.md#request-economy); its service's marker
        was checked before the write."""
        element = reply.find("Rs") if reply is not None else None
        if element is None:
            return super().state_after_create(client, props, reply)
        return {**self.fields.read(fields(element), props), "owner": props["owner"]}

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        params = self.fields.body(props, changed)
        if params:
            client.command("modrs", {**self._rs(props), **params}, what=self.label(props))

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        # safe to send again: a real server already gone answers "Unknown RS" (or its service "Unknown VS")
        with_retries(
            lambda: client.command("delrs", self._rs(props), what=self.label(props), ok_missing=True)
        )


class PortFollowProvider(VsChildProvider):
    """``{vs, follow}``: ``vs`` follows ``follow`` (FollowVSID = the other's current Index).

    Port following is one-directional on the wire; the component declares it for both directions.
    ``vs_id`` / ``follow_id``: the two virtual service resources' ids (a replaced one loses the setting).
    """

    object_type = "port following"
    identity_keys = ("vs", "follow")
    parent_keys = ("vs_id", "follow_id")
    property_keys: ClassVar[tuple[str, ...]] = ()
    delete_before_replace = True
    #: a ``modvs FollowVSID`` the LoadMaster takes again when it is set: read first
    reads_before_create = True

    def object_id(self, props: dict[str, Any]) -> str:
        return f"{vs_label(props['vs'])} -> {props['follow']['port']}/{props['follow']['protocol']}"

    def label(self, props: dict[str, Any]) -> str:
        return f"port following of {vs_label(props['vs'])} to {vs_label(props['follow'])}"

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        vs = self.show_vs(client, props["vs"])
        target = self.show_vs(client, props["follow"])
        if vs is None or target is None or vs.get("FollowVSID", "0") in ("", "0"):
            return None
        if vs.get("FollowVSID") != target.get("Index"):
            return None
        return {"vs": props["vs"], "follow": props["follow"], "owner": self.owner_of(client, props)}

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        self._require_vs_owner(client, props, "set")
        target = self.show_vs(client, props["follow"])
        if target is None:
            raise DeviceStateError(
                device=Device.from_props(props).host,
                obj=vs_label(props["follow"]),
                problem=f"does not exist; it must be created before {self.label(props)}",
            )
        client.command(
            "modvs",
            {**vs_params(props["vs"]), "FollowVSID": target.get("Index", "0")},
            what=self.label(props),
        )

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        """Nothing to change in place: another target is a replacement."""

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        if self.show_vs(client, props["vs"]) is not None:
            params = {**vs_params(props["vs"]), "FollowVSID": 0}
            # the same setting again is harmless (and a service gone since answers "Unknown VS")
            with_retries(lambda: client.command("modvs", params, what=self.label(props), ok_missing=True))
