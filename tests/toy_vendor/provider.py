"""The toy load balancer's wire: a client of its JSON API and one dynamic provider per object type (pools),
written as any vendor's providers are: on ApplianceObjectProvider's hooks, errors as ApplianceError."""

from __future__ import annotations

from typing import Any

import requests

from providers.common.clients import PerProcess
from providers.common.device import Device, SecretConfig
from providers.common.errors import ApplianceError
from providers.common.fields import Field, FieldMap
from providers.common.http import make_session, transport_error
from providers.common.resource import ApplianceObjectProvider
from providers.common.resources import ApplianceResource, ObjectInputs, Opts

TIMEOUT = (10, 30)


class ToyClient:
    def __init__(self, device: Device, password: str) -> None:
        self.device = device
        self._session = make_session(user_agent="aovpn-iac (toy)")
        self._session.auth = (device.user, password)

    def close(self) -> None:
        self._session.close()

    def call(self, method: str, path: str, body: Any = None, *, what: str) -> Any:
        """The answer's JSON (None for 404 on a GET and for 204); anything else refused is an error."""
        try:
            response = self._session.request(
                method, self.device.url + path, json=body, verify=self.device.verify(), timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            raise transport_error(self.device.host, what, method, exc, retried=method != "POST") from None
        if method == "GET" and response.status_code == 404:
            return None
        if response.status_code >= 400:
            try:
                error = response.json()
            except ValueError:
                error = {"message": response.text[:200]}
            raise ApplianceError(
                device=self.device.host,
                obj=what,
                operation=method,
                status=response.status_code,
                code=error.get("code"),
                message=str(error.get("message", "")),
            )
        return response.json() if response.content else None

    def persist(self, device: Device) -> None:
        """Changes are persisted at once."""


_CLIENTS: PerProcess[ToyClient] = PerProcess()


def client_for(device: Device, secrets: SecretConfig) -> ToyClient:
    return _CLIENTS.get(device.url, lambda: ToyClient(device, secrets.password(device)))


class PoolProvider(ApplianceObjectProvider):
    """A pool: ``{name, port, members}``; the owner marker is its description. Its name map drives the
    read and the create and update bodies, as every vendor's does."""

    object_type = "toy pool"
    property_keys = ("port", "members")
    fields = FieldMap(
        Field("name", "name"),
        Field("port", "port"),
        Field("members", "members", from_device=sorted),
        Field("owner", "description", from_device=lambda v: v or None),
    )

    def client(self, device: Device) -> ToyClient:
        return client_for(device, self._secrets)

    def object_id(self, props: dict[str, Any]) -> str:
        return str(props["name"])

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        pool = client.call("GET", f"/api/pools/{props['name']}", what=self.label(props))
        return None if pool is None else self.fields.read(pool, props)

    def create_object(self, client: Any, props: dict[str, Any]) -> Any:
        return client.call("POST", "/api/pools", self.fields.body(props), what=self.label(props))

    def already_exists(self, exc: ApplianceError) -> bool:
        return exc.status == 409 and exc.code == "exists"

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        body = self.fields.body(props, changed)
        client.call("PATCH", f"/api/pools/{props['name']}", body, what=self.label(props))

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        client.call("DELETE", f"/api/pools/{props['name']}", what=self.label(props))


class PoolInputs(ObjectInputs):
    name: str
    port: int
    #: ``address:port``, sorted
    members: list[str]


class ToyPool(ApplianceResource):
    def __init__(self, name: str, props: PoolInputs, opts: Opts = None) -> None:
        super().__init__(PoolProvider(), name, props, opts)
