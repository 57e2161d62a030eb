"""The Citrix ADC twin's state and rules (NITRO config API subset for AOVPN load balancing).

Objects (server, servicegroup, lbmonitor, lbvserver, lbgroup) and bindings (members, monitor bindings,
vserver->servicegroup, persistency-group membership), global modes and the saved configuration, with the rules
docs/citrix.md#twin-fidelity-index lists: per-attribute output types, canonical case on output, immutable
attributes refused with 599/278, implicit IP-named servers that outlive their member binding and own their IP,
monitor identity by (name, type) with its error codes, one persistency group per vserver with member
persistence locked, cascading servicegroup deletes, ``configchanged`` flipping with writes and saves,
idempotent adds, sessions with idle expiry. SSL for SSTP (docs/citrix.md#ssl-for-sstp): systemfiles addressed
by location (on disk: they survive a reboot without a save), PEM cert-keys read with ``cryptography`` (serial,
subject, days to expiration, key match, same contents under two names refused), update/link actions,
certificate bindings to SSL vservers only, the SSL feature's "SSL feature disabled" note. Also global
features, ``lbparameter`` (``allowboundsvcremoval``), enable/disable and unset actions,
``servicegroupbindings``.

Where docs/citrix.md marks a fact unconfirmed the twin's choice is marked ``[?]`` next to the code.

This module composes the concerns, moto style: ``tables`` (the schema), ``sessions`` (logins, idle
expiry), ``objects`` (server, servicegroup, lbmonitor, lbvserver, lbgroup; one vserver per IP address,
port and transport), ``bindings``, ``certificates`` (systemfile, sslcertkey, certificate bindings; not
named ``ssl``, which would shadow the standard library for a script run from this folder) and
``system`` (modes, features, lbparameter, saved configuration), ``roles`` (system users, command policies,
each request authorized as its CLI command); ``base`` holds what they share. Here:
construction, the factory configuration and what a reboot keeps.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

from emulators.citrix.bindings import BindingsMixin
from emulators.citrix.certificates import SslMixin
from emulators.citrix.objects import ObjectsMixin
from emulators.citrix.roles import RolesMixin
from emulators.citrix.sessions import DEFAULT_USERS, SessionsMixin
from emulators.citrix.system import SystemMixin
from emulators.citrix.tables import FACTORY_FEATURES, FACTORY_MODES, KINDS, Obj


class CitrixBackend(SessionsMixin, RolesMixin, ObjectsMixin, BindingsMixin, SslMixin, SystemMixin):
    """The composed twin: one mixin per concern, as moto composes its large backends."""

    def __init__(
        self,
        data_dir: Path | str | None = None,
        users: dict[str, str] | None = None,
        roles: dict[str, list[tuple[str, int]]] | None = None,
    ) -> None:
        super().__init__(data_dir)
        self.users = dict(users or DEFAULT_USERS)
        self.init_roles(roles)
        self.sessions = {}
        self.saving = threading.Lock()
        factory = self.factory_config()
        for config in (self.running, self.saved):  # a saved configuration written by an older twin
            for key, value in factory.items():
                config.setdefault(key, copy.deepcopy(value))

    def factory_config(self) -> Obj:
        monitors = {}
        for name, mtype in (
            ("ping", "PING"),
            ("tcp", "TCP"),
            ("ping-default", "PING"),
            ("tcp-default", "TCP"),
        ):
            monitors[name] = {
                **copy.deepcopy(KINDS["lbmonitor"].defaults),
                "monitorname": name,
                "type": mtype,
                "_builtin": True,
            }
        return {
            "server": {},
            "servicegroup": {},
            "lbmonitor": monitors,
            "lbvserver": {},
            "lbgroup": {},
            "members": [],
            "sg_monitors": [],
            "vs_sg": [],
            "group_vs": [],
            "modes": list(FACTORY_MODES),
            "features": list(FACTORY_FEATURES),
            "lbparameter": {"allowboundsvcremoval": "ENABLED"},
            "files": {},
            "sslcertkey": {},
            "ssl_bindings": [],
        }

    def runtime_state(self) -> Obj:
        return {"sessions": len(self.sessions), "configchanged": self.running != self.saved}
