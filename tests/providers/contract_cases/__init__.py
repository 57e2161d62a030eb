"""The provider contract's cases as data: one ``ContractCase`` per object type, gathered per vendor.

A vendor registers by a module of this package, ``tests/providers/contract_cases/<vendor>.py``, whose
``VENDOR`` (a ``VendorCases``) holds its cases; ``VENDOR_CASES`` gathers every module's. Each case
names the provider class, the inputs, the parent objects to create first, how a person changes the
object by hand (through the vendor client or the twin), and how someone else makes an object of the
same name (None where the device cannot tell, said in the case's ``note``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from emulators.common import RunningTwin, TwinApp
from providers.common.clients import PerProcess
from providers.common.device import Device
from providers.common.resource import ApplianceObjectProvider

OWNER = "aovpn-iac:aovpn/contract"
OTHER_OWNER = "aovpn-iac:someone/else"
Props = dict[str, Any]


@dataclass
class Ctx:
    """What a case's functions get: the running twin, the device input, the configured secrets and a
    way to make configured providers and reach the vendor client."""

    twin: RunningTwin
    device: Props
    secrets: dict[str, str]
    make_provider: Callable[[type[ApplianceObjectProvider]], ApplianceObjectProvider]
    #: free for a vendor module's own use (generated certificates, fingerprints)
    extra: dict[str, Any] = field(default_factory=dict)

    def base(self, **props: Any) -> Props:
        """Inputs with the device and this stack's owner marker."""
        return {"device": self.device, "owner": OWNER, **props}

    def provider(self, cls: type[ApplianceObjectProvider]) -> ApplianceObjectProvider:
        return self.make_provider(cls)

    def client(self, cls: type[ApplianceObjectProvider]) -> Any:
        """The vendor client ``cls`` uses for this device (the one of this process)."""
        return self.provider(cls).client(Device.from_props({"device": self.device}))


Step = Callable[[Ctx, Props], None]


@dataclass(frozen=True)
class ContractCase:
    """One object type's contract run."""

    name: str
    provider: type[ApplianceObjectProvider]
    inputs: Callable[[Ctx], Props]
    #: a change a person makes on the device; the next ``read`` must show it and ``update`` repair it
    #: (for types without properties: the object removed by hand)
    hand_change: Step
    #: objects to create first, in order: (provider class, inputs)
    parents: Callable[[Ctx], list[tuple[type[ApplianceObjectProvider], Props]]] = lambda ctx: []
    #: make an object of the same name that is not ours (run after this case's object was deleted);
    #: None when the device cannot tell a foreign object from ours
    foreign: Step | None = None
    #: False for settings a delete leaves as they are (a global mode)
    deletes: bool = True
    note: str = ""


@dataclass(frozen=True)
class VendorCases:
    """A vendor's twin, credentials and cases."""

    vendor: str  # the twin name (emulators.<vendor>), for twin_factory
    user: str
    password: str
    password_key: str
    cases: tuple[ContractCase, ...]
    #: the modules of the vendor's object providers: each concrete one must have a case
    provider_modules: tuple[ModuleType, ...]
    #: the vendor's per-process clients, closed (logged out) after each case while the twin still runs
    clients: PerProcess[Any]
    #: base classes in those modules that are not object types themselves
    abstract: frozenset[str] = frozenset()
    #: more secret config (key -> value), e.g. certificate PEMs
    secrets: Callable[[], dict[str, str]] = dict
    #: the twin's app, for a twin that is not a package of emulators/ (default: ``emulators.<vendor>``)
    app: Callable[[], TwinApp] | None = None


@functools.cache
def certificate_pems(name: str) -> tuple[str, str, str]:
    """A leaf certificate for ``name`` (PEM certificate, PEM key, SHA-256), made once per session."""
    import trustme

    from providers.common.certificates import certificate_sha256

    leaf = trustme.CA().issue_cert(name)
    pem = leaf.cert_chain_pems[0].bytes()
    return pem.decode(), leaf.private_key_pem.bytes().decode(), certificate_sha256(pem)


CERT_SECRET, KEY_SECRET = "sstpCertificate", "sstpPrivateKey"


def certificate_secrets() -> dict[str, str]:
    cert, key, _ = certificate_pems("vpn.contract.example")
    return {CERT_SECRET: cert, KEY_SECRET: key}


def fingerprint() -> str:
    return certificate_pems("vpn.contract.example")[2]


def _registered() -> list[VendorCases]:
    """The ``VENDOR`` of every module of this package, by module name."""
    import importlib
    import pkgutil

    names = sorted(m.name for m in pkgutil.iter_modules(__path__))
    return [importlib.import_module(f"{__name__}.{name}").VENDOR for name in names]


#: Every vendor the contract test runs: a new vendor adds its module here, with its ``VENDOR``.
VENDOR_CASES: list[VendorCases] = _registered()
