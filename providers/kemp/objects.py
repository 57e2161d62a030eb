"""One dynamic provider per LoadMaster object an Always On VPN cluster needs.

Virtual services are addressed by their (address, port, protocol) triplet, never by ``Index``: indexes
are renumbered by the appliance after global changes (reference/kemp.md §5, trap 13). A virtual
service carries this stack's ownership marker in its ``NickName`` (``<object name> <marker>``; the
LoadMaster has no description field). Real servers and port following have no text field of their
own: they are owned through the virtual service they belong to.

Read-back normalisation (traps 3-6, 10): booleans arrive as Y/N, numbers as text, absent elements mean
"off" (``Persist`` is omitted when persistence is off, ``NickName`` when empty).
"""

from __future__ import annotations

from typing import Any, ClassVar

from providers.common.device import Device
from providers.common.errors import OwnershipError
from providers.common.resource import ApplianceObjectProvider, plain
from providers.kemp.client import KempClient, client_for, fields

NOT_OURS = "not ours"


def vs_params(vs: dict[str, Any]) -> dict[str, Any]:
    return {"vs": vs["address"], "port": vs["port"], "prot": vs["protocol"]}


def vs_label(vs: dict[str, Any]) -> str:
    return f"virtual service {vs['address']}:{vs['port']}/{vs['protocol']}"


def nickname_owner(nickname: str | None) -> tuple[str | None, str | None]:
    """``vpn-lab_ikev2_500 aovpn-iac:aovpn/prod`` -> (name, marker)."""
    if not nickname:
        return None, None
    name, _, marker = nickname.partition(" ")
    return name, marker or None


class KempProvider(ApplianceObjectProvider):
    def client(self, device: Device) -> KempClient:
        return client_for(device, self._secrets)

    def show_vs(self, client: KempClient, vs: dict[str, Any]) -> dict[str, str] | None:
        data = client.command("showvs", vs_params(vs), what=vs_label(vs), ok_missing=True)
        return None if data is None else fields(data)


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

    def object_id(self, props: dict[str, Any]) -> str:
        return f"{props['address']}:{props['port']}/{props['protocol']}"

    def label(self, props: dict[str, Any]) -> str:
        return vs_label(props)

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        vs = self.show_vs(client, props)
        if vs is None:
            return None
        name, marker = nickname_owner(vs.get("NickName"))
        timeout = vs.get("PersistTimeout", "0")
        return {
            "address": vs.get("VSAddress", props["address"]),
            "port": int(vs.get("VSPort", props["port"])),
            "protocol": vs.get("Protocol", props["protocol"]).lower(),
            "name": name,
            "enabled": vs.get("Enable", "Y") == "Y",
            "transparent": vs.get("Transparent", "N") == "Y",
            "force_l7": vs.get("ForceL7", "N") == "Y",
            "persist": vs.get("Persist") or "none",
            "persist_timeout": int(timeout) if timeout.isdigit() else 0,
            "schedule": vs.get("Schedule", "rr"),
            "check_type": vs.get("CheckType", "tcp"),
            "owner": marker,
        }

    def _params(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if keys & {"name", "owner"}:
            params["NickName"] = f"{props['name']} {props['owner']}"
        if "enabled" in keys:
            params["Enable"] = bool(props["enabled"])
        if "transparent" in keys:
            params["Transparent"] = bool(props["transparent"])
        if "force_l7" in keys:
            params["ForceL7"] = bool(props["force_l7"])
        if keys & {"persist", "persist_timeout"}:
            # Persist and its timeout travel together: a timeout alone can switch persistence on (trap 10).
            params["Persist"] = props["persist"]
            params["PersistTimeout"] = props["persist_timeout"]
        if "schedule" in keys:
            params["Schedule"] = props["schedule"]
        if "check_type" in keys:
            params["CheckType"] = props["check_type"]
        return params

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        params = {**vs_params(props), **self._params(props, {*self.property_keys, "owner"})}
        client.command("addvs", params, what=self.label(props))

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        client.command(
            "modvs", {**vs_params(props), **self._params(props, set(changed))}, what=self.label(props)
        )

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.command("delvs", vs_params(props), what=self.label(props), ok_missing=True)


class HealthCheckedVirtualServiceProvider(VirtualServiceProvider):
    """A virtual service with an HTTP(S) health check (SSTP): adds ``check_url``, ``check_codes`` and
    ``check_use_get`` (0 HEAD, 1 GET, 2 POST) to the virtual service's keys."""

    property_keys: ClassVar[tuple[str, ...]] = (
        *VirtualServiceProvider.property_keys,
        "check_url",
        "check_codes",
        "check_use_get",
    )

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        out = super().fetch(client, props)
        if out is None:
            return None
        vs = self.show_vs(client, props) or {}
        use_get = vs.get("CheckUseGet", "0")
        out.update(
            check_url=vs.get("CheckUrl", ""),
            check_codes=vs.get("CheckCodes", ""),
            check_use_get=int(use_get) if use_get.isdigit() else 0,
        )
        return out

    def _params(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        params = super()._params(props, keys)
        if "check_url" in keys:
            params["CheckUrl"] = props["check_url"]
        if "check_codes" in keys:
            params["CheckCodes"] = props["check_codes"]
        if "check_use_get" in keys:
            params["CheckUseGet"] = props["check_use_get"]
        return params


class SstpVirtualServiceProvider(HealthCheckedVirtualServiceProvider):
    """The SSTP virtual service, with ``ssl_acceleration``, ``cert_file`` and ``ssl_reencrypt`` (offload)."""

    property_keys: ClassVar[tuple[str, ...]] = (
        *HealthCheckedVirtualServiceProvider.property_keys,
        "ssl_acceleration",
        "cert_file",
        "ssl_reencrypt",
    )

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        out = super().fetch(client, props)
        if out is None:
            return None
        vs = self.show_vs(client, props) or {}
        accelerated = vs.get("SSLAcceleration", "N") == "Y"
        out.update(
            ssl_acceleration=accelerated,
            cert_file=vs.get("CertFile", "") if accelerated else "",
            ssl_reencrypt=vs.get("SSLReencrypt", "N") == "Y",
        )
        return out

    def _params(self, props: dict[str, Any], keys: set[str]) -> dict[str, Any]:
        params = super()._params(props, keys)
        if keys & {"ssl_acceleration", "cert_file"}:
            # SSL acceleration before the certificate: turning it off clears CertFile (trap 11)
            params["SSLAcceleration"] = bool(props["ssl_acceleration"])
            if props["ssl_acceleration"]:
                params["CertFile"] = props["cert_file"]
        if "ssl_reencrypt" in keys:
            params["SSLReencrypt"] = bool(props["ssl_reencrypt"])
        return params


class CertificateProvider(KempProvider):
    """The SSTP certificate and key, installed with ``addcert`` as ``<prefix>_<first 16 hex of SHA-256>``.

    The PEMs come from secret config. The name says the content, so a new certificate is a new object
    (created before the old one is deleted, the virtual service moved to it in between). Certificates
    carry no marker: one with this name is ours when it holds this certificate, which its name says.
    """

    object_type = "certificate"
    identity_keys = ("prefix",)
    property_keys: ClassVar[tuple[str, ...]] = ()
    carried_keys = ("certificate_secret", "private_key_secret", "sha256", "name")
    delete_before_replace = False

    def _pem(self, props: dict[str, Any], key: str, placeholder: str) -> str:
        return self._secrets.value(props[key], f"SSTP certificate {props['prefix']}", placeholder)

    def _bundle(self, props: dict[str, Any]) -> bytes:
        cert = self._pem(props, "certificate_secret", "<PEM certificate>")
        key = self._pem(props, "private_key_secret", "<PEM private key>")
        return (cert.strip() + "\n" + key.strip() + "\n").encode()

    def _fingerprint(self, props: dict[str, Any]) -> str:
        from providers.f5.objects import certificate_sha256

        return certificate_sha256(self._pem(props, "certificate_secret", "<PEM certificate>").encode())

    def _name(self, props: dict[str, Any], fingerprint: str) -> str:
        return f"{props['prefix']}_{fingerprint[:16]}"

    def object_id(self, props: dict[str, Any]) -> str:
        return str(props.get("name") or props["prefix"])

    def content_replaces(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        return ["sha256"] if olds.get("sha256") != self._fingerprint(news) else []

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        fingerprint = props.get("sha256") or self._fingerprint(props)
        name = self._name(props, fingerprint)
        data = client.command("listcert", {}, what="certificates")
        names = {c.findtext("name") for c in data.findall("cert")} if data is not None else set()
        if name not in names:
            return None
        return {"prefix": props["prefix"], "name": name, "sha256": fingerprint, "owner": props["owner"]}

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        name = self._name(props, self._fingerprint(props))
        client.upload(
            "addcert", {"cert": name, "replace": 0}, self._bundle(props), what=f"certificate {name}"
        )

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        """Nothing to change in place: another certificate is a replacement."""

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        name = self._name(props, props.get("sha256") or self._fingerprint(props))
        client.command("delcert", {"cert": name}, what=f"certificate {name}", ok_missing=True)

    def create(self, props: dict[str, Any]) -> Any:
        props = dict(plain(props))
        props["sha256"] = self._fingerprint(props)
        props["name"] = self._name(props, props["sha256"])
        return super().create(props)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        news = dict(plain(news))
        news["sha256"] = self._fingerprint(news)
        news["name"] = self._name(news, news["sha256"])
        return super().update(_id, olds, news)


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

    def owner_of(self, client: KempClient, props: dict[str, Any]) -> str:
        marker = self._marker(client, props)
        return props["owner"] if marker == props["owner"] else f"through {vs_label(props['vs'])}: {marker}"


class RealServerProvider(VsChildProvider):
    """``{vs, address, port (identity), weight, enabled}``: an RRAS node behind one virtual service.
    ``vs_id`` (the virtual service resource's id): ``delvs`` takes the real servers with it, so a replaced
    virtual service replaces them too."""

    object_type = "real server"
    identity_keys = ("vs", "address", "port")
    parent_keys = ("vs_id",)
    property_keys = ("weight", "enabled")
    delete_before_replace = True

    def object_id(self, props: dict[str, Any]) -> str:
        vs = props["vs"]
        return f"{vs['address']}:{vs['port']}/{vs['protocol']}/{props['address']}:{props['port']}"

    def label(self, props: dict[str, Any]) -> str:
        return f"real server {props['address']}:{props['port']} of {vs_label(props['vs'])}"

    def _rs(self, props: dict[str, Any]) -> dict[str, Any]:
        return {**vs_params(props["vs"]), "rs": props["address"], "rsport": props["port"]}

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        data = client.command("showrs", self._rs(props), what=self.label(props), ok_missing=True)
        if data is None:
            return None
        rs_element = data.find("Rs")
        rs = fields(rs_element if rs_element is not None else data)
        return {
            "vs": props["vs"],
            "address": rs.get("Addr", props["address"]),
            "port": int(rs.get("Port", props["port"])),
            "weight": int(rs.get("Weight", "1000")),
            "enabled": rs.get("Enable", "Y") == "Y",
            "owner": self.owner_of(client, props),
        }

    def create_object(self, client: Any, props: dict[str, Any]) -> None:
        self._require_vs_owner(client, props, "add")
        client.command(
            "addrs",
            {**self._rs(props), "weight": props["weight"], "enable": bool(props["enabled"])},
            what=self.label(props),
        )

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        params: dict[str, Any] = {}
        if "weight" in changed:
            params["Weight"] = props["weight"]
        if "enabled" in changed:
            params["Enable"] = bool(props["enabled"])
        if params:
            client.command("modrs", {**self._rs(props), **params}, what=self.label(props))

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.command("delrs", self._rs(props), what=self.label(props), ok_missing=True)


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
            raise RuntimeError(f"{vs_label(props['follow'])} does not exist; it must be created first")
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
            client.command("modvs", {**vs_params(props["vs"]), "FollowVSID": 0}, what=self.label(props))
