"""The LoadMaster twin's state, dispatch and addressing, shared by every concern's mixin.

State: global parameters, Virtual Services (VS) with their Real Servers (RS), API keys, certificates, and the
unit's network interfaces (``emulators.kemp.network``, not part of the saved configuration). A command
``<name>`` is the method ``_cmd_<name>`` of one of the mixins composed in ``emulators.kemp.backend``; it runs
under the lock on a copy that is thrown away if it fails, and a successful write is persisted at once: there
is no save command (docs/kemp.md#configuration-persistence).

Addressing (docs/kemp.md#addressing-virtual-and-real-servers): a VS is ``vs=<IP>&port=&prot=`` or a bare Index
(``vs=!n`` is an address); an RS is ``rs=<IP>&rsport=`` or ``rs=!<RsIndex>`` (``rs=n`` is an address)."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

from emulators.common import TwinBackend
from emulators.kemp import exceptions as err
from emulators.kemp.network import Interface, is_local, parse_interfaces
from emulators.kemp.results import Args, Result, parse_address, parse_port
from emulators.kemp.types import DEFAULT_GLOBALS, DEFAULT_PERMISSIONS, DEFAULT_USERS, WRITE_COMMANDS


class KempBase(TwinBackend):
    vendor = "kemp"

    def __init__(
        self,
        data_dir: Path | str | None = None,
        users: dict[str, str] | None = None,
        local_networks: list[str] | None = None,
        strict_port_following: bool = True,
        permissions: dict[str, list[str]] | None = None,
    ) -> None:
        self.users = dict(users or DEFAULT_USERS)
        #: each local user's permissions (emulators.kemp.roles); ``bal`` always has every permission
        self.permissions: dict[str, frozenset[str]] = {
            name: frozenset(perms)
            for name, perms in (DEFAULT_PERMISSIONS if permissions is None else permissions).items()
        }
        #: the unit's interfaces; a real server outside their networks is non-local (emulators.kemp.network)
        self.interfaces: tuple[Interface, ...] = parse_interfaces(local_networks)
        self.strict_port_following = strict_port_following
        super().__init__(data_dir=data_dir)

    def is_local(self, address: str) -> bool:
        return is_local(self.interfaces, address)

    # -- configuration ---------------------------------------------------------------------------
    def factory_config(self) -> dict[str, Any]:
        return {"globals": dict(DEFAULT_GLOBALS), "vs": [], "next_rs_index": 1, "apikeys": {}, "certs": {}}

    def runtime_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "virtual_services": len(self.running["vs"]),
                "real_servers": sum(len(vs["Rs"]) for vs in self.running["vs"]),
                "api_keys": len(self.running["apikeys"]),
            }

    def _commit(self) -> None:
        """The LoadMaster has no save step: a change is persistent as soon as it is made
        (docs/kemp.md#configuration-persistence)."""
        self.save_config()

    # -- dispatch ----------------------------------------------------------------------------------
    def execute(self, command: str, params: dict[str, str], user: str = "bal", body: bytes = b"") -> Result:
        args = Args({k.lower(): v for k, v in params.items()})
        handler = getattr(self, f"_cmd_{command.lower()}", None)
        if handler is None:
            raise err.unknown_command()
        with self.lock:
            before = copy.deepcopy(self.running)
            try:
                result: Result = handler(args, user=user, body=body)
            except Exception:
                self.running = before
                raise
            if command.lower() in WRITE_COMMANDS:
                self._commit()
            return result

    # -- VS lookup ---------------------------------------------------------------------------------
    def _vs_list(self) -> list[dict[str, Any]]:
        vs_list: list[dict[str, Any]] = self.running["vs"]
        return vs_list

    def _by_index(self, index: int) -> dict[str, Any] | None:
        return next((vs for vs in self._vs_list() if vs["Index"] == index), None)

    def _find_triplet(self, address: str, port: int, prot: str) -> dict[str, Any] | None:
        return next(
            (
                vs
                for vs in self._vs_list()
                if vs["VSAddress"] == address and vs["VSPort"] == port and vs["Protocol"] == prot
            ),
            None,
        )

    def _identity(self, args: Args) -> tuple[str, int, str]:
        """The (address, port, protocol) triplet of addvs; missing parts are 400s."""
        raw = args.get("vs")
        if not raw:
            raise err.missing("vs", "Address")
        port_raw = args.require("port")
        prot_raw = args.require("prot")
        address = parse_address("VS", raw)
        port = parse_port("port", port_raw)
        prot = prot_raw.strip().lower()
        if prot not in ("tcp", "udp"):
            raise err.invalid_value("prot")
        return address, port, prot

    def _lookup_vs(self, args: Args) -> dict[str, Any]:
        """``vs=<Index>`` alone, or ``vs=<IP>&port=&prot=`` (``vs=!n`` is an address:
        docs/kemp.md#addressing-virtual-and-real-servers)."""
        raw = (args.get("vs") or "").strip()
        if not raw:
            raise err.missing("vs", "Address")
        if raw.isdigit():
            vs = self._by_index(int(raw))
            if vs is None:
                raise err.unknown_vs()
            return vs
        port_raw = args.require("port")
        prot_raw = args.require("prot")
        try:
            address = str(ipaddress.ip_address(raw))
            port = int(port_raw.strip())
        except ValueError:
            raise err.unknown_vs() from None
        found = self._find_triplet(address, port, prot_raw.strip().lower())
        if found is None:
            raise err.unknown_vs()
        return found

    def _lookup_rs(self, vs: dict[str, Any], args: Args) -> dict[str, Any]:
        """``rs=!<RsIndex>`` or ``rs=<IP>[&rsport=]`` (a bare number is an address:
        docs/kemp.md#addressing-virtual-and-real-servers)."""
        raw = (args.get("rs") or "").strip()
        if not raw:
            raise err.missing("rs", "Address")
        rs_list: list[dict[str, Any]] = vs["Rs"]
        if raw.startswith("!"):
            try:
                index = int(raw[1:])
            except ValueError:
                raise err.unknown_rs() from None
            found = next((rs for rs in rs_list if rs["RsIndex"] == index), None)
        else:
            try:
                address = str(ipaddress.ip_address(raw))
            except ValueError:
                raise err.unknown_rs() from None
            port_raw = args.get("rsport")
            candidates = [rs for rs in rs_list if rs["Addr"] == address]
            if port_raw:
                try:
                    port = int(port_raw.strip())
                except ValueError:
                    raise err.invalid_value("rsport") from None
                candidates = [rs for rs in candidates if rs["Port"] == port]
            found = candidates[0] if candidates else None
        if found is None:
            raise err.unknown_rs()
        return found
