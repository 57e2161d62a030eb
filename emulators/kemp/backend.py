"""The LoadMaster twin's backend (classic ``/access`` API and JSON ``/accessv2`` subset), moto-style.

``KempBackend`` composes one mixin per concern over ``KempBase`` (state, dispatch, VS/RS addressing):

* ``virtual_services``: addvs / showvs / listvs / modvs / delvs, defaults and couplings
(docs/kemp.md#values-and-defaults);
* ``real_servers``: addrs / showrs / modrs / delrs / enablers / disablers, the non-local rule;
* ``certificates``: addcert / listcert / delcert for SSL acceleration
(docs/kemp.md#ssl-acceleration-and-certificates);
* ``roles``: users and their permissions, enforced on every command (docs/kemp.md#least-privilege-account);
* ``system``: passwords and API keys, global parameters, backup / restore, showiface.

``types`` holds the tables, ``results`` the answers and parameter parsing, ``network`` the unit's interfaces,
``exceptions`` every error text (texts no source confirms are marked there). Rules follow docs/kemp.md and its
fidelity traps (docs/kemp.md#twin-fidelity-index); parameter names are case-insensitive, unknown ones are
ignored (docs/kemp.md#parameter-names); booleans accept Y/N, y/n, 1/0, yes/no, true/false and are emitted as
Y/N (docs/kemp.md#booleans)."""

from __future__ import annotations

from emulators.kemp.certificates import CertificateMixin
from emulators.kemp.real_servers import RealServerMixin
from emulators.kemp.results import (
    BinaryResult,
    Message,
    ParamsResult,
    Result,
    RSResult,
    VSListResult,
    VSResult,
)
from emulators.kemp.roles import RoleMixin
from emulators.kemp.system import SystemMixin
from emulators.kemp.types import WRITE_COMMANDS, View
from emulators.kemp.virtual_services import VirtualServiceMixin

# what the HTTP layer (app.py) and the package (__init__.py) import from here
__all__ = [
    "WRITE_COMMANDS",
    "BinaryResult",
    "KempBackend",
    "Message",
    "ParamsResult",
    "RSResult",
    "Result",
    "VSListResult",
    "VSResult",
    "View",
]


class KempBackend(RoleMixin, VirtualServiceMixin, RealServerMixin, CertificateMixin, SystemMixin):
    """The LoadMaster: every command of every concern, over one state (``emulators.kemp.base``)."""
