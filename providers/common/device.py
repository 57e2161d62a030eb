"""How a provider reaches an appliance: connection settings from resource inputs, secrets from config.

Resource inputs carry only the *name* of the secret config key (``password_key``); the password itself
comes from the stack config the engine hands the provider host in ``Configure``. It never enters
resource inputs, state, logs or error messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict
from urllib.parse import urlsplit

from pulumi.dynamic import ConfigureRequest, ResourceProvider

from providers.common.errors import ConfigurationError


class DeviceSettings(TypedDict):
    """How a provider reaches a device: the ``device`` input of every resource. The password is not here:
    ``password_key`` names the secret config key that holds it."""

    url: str
    user: str
    password_key: str
    ca_bundle: str | None
    #: F5 only: the HA device group to config-sync to after a run that changed the device.
    sync_group: NotRequired[str | None]
    #: WinRM only: the authentication (ntlm, negotiate, kerberos, credssp, basic).
    auth: NotRequired[str]
    #: WinRM only, kerberos/negotiate: the node's DNS name for its service principal HTTP/<name>.
    kerberos_hostname: NotRequired[str]
    #: WinRM only: the session configuration (JEA endpoint) to connect to, when declared.
    configuration_name: NotRequired[str]


@dataclass(frozen=True)
class Device:
    url: str
    user: str
    password_key: str
    ca_bundle: str | None
    #: F5: the HA device group to config-sync to after a run that changed the device
    sync_group: str | None = None

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Device:
        d = props["device"]
        return cls(
            url=str(d["url"]).rstrip("/"),
            user=str(d["user"]),
            password_key=str(d["password_key"]),
            ca_bundle=d.get("ca_bundle") or None,
            sync_group=d.get("sync_group") or None,
        )

    @property
    def host(self) -> str:
        """The device's name in messages: its host and port, never credentials."""
        parts = urlsplit(self.url)
        return parts.netloc.rsplit("@", 1)[-1]

    def verify(self) -> str | bool:
        """What requests should verify TLS against: the declared CA bundle, or the system store.

        Relative paths resolve against the project directory (the provider host's working directory).
        Verification is never turned off.
        """
        if self.ca_bundle:
            return os.path.abspath(self.ca_bundle)
        return True


class SecretConfig:
    """The stack config as the provider host received it, for looking up secrets by key name."""

    def __init__(self, config: Any | None = None) -> None:
        self._config = config

    def password(self, device: Device) -> str:
        return self.value(device.password_key, device.host, "<password>")

    def value(self, key: str, where: str, placeholder: str = "<value>") -> str:
        value = self._config.get(key) if self._config is not None else None
        if not value:
            raise ConfigurationError(
                f"{where}: the secret config key {key!r} is not set; set it with "
                f"`pulumi config set --secret {key} {placeholder}`"
            )
        return str(value)


class ConfiguredProvider(ResourceProvider):
    """A dynamic provider that keeps the stack config the engine hands it in ``Configure`` (where the
    secrets are, looked up by key name). Its only instance state is ``_secrets``, which ``configure``
    sets: a provider pickled into an older state unpickles without running ``__init__``."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets = SecretConfig()

    def configure(self, req: ConfigureRequest) -> None:
        self._secrets = SecretConfig(req.config)
