"""Real Servers: addrs / showrs / modrs / delrs, and enablers / disablers across every Virtual Service.

Defaults Forward ``nat``, Weight 1000, Limit 0, Enable Y, Critical N; addrs ignores Forward (set it with
modrs); modrs changes the port with ``newport`` but never the address; the same address and port twice on one
VS is refused; RsIndex is one global counter that is never renumbered (docs/kemp.md#real-servers,
docs/kemp.md#indexes-and-renumbering). An address outside the unit's local networks needs ``non_local=1``, the
global ``nonlocalrs`` and a non-transparent VS (``emulators.kemp.network``)."""

from __future__ import annotations

from typing import Any

from emulators.kemp import exceptions as err
from emulators.kemp.base import KempBase
from emulators.kemp.results import (
    Args,
    Message,
    Result,
    RSResult,
    parse_address,
    parse_bool,
    parse_int,
    parse_port,
)
from emulators.kemp.types import RS_PARAMS
from emulators.kemp.views import is_transparent, rs_view


class RealServerMixin(KempBase):
    # -- RS commands ---------------------------------------------------------------------------------
    def _rs_address(self, args: Args) -> str:
        raw = args.get("rs")
        if not raw:
            raise err.missing("rs", "Address")
        return parse_address("RS", raw)

    def _check_local(self, vs: dict[str, Any], address: str, non_local: bool) -> None:
        """A real server off the unit's networks needs ``non_local=1``, the global ``nonlocalrs`` and a
        VS that is not transparent (sources and the [?] parts: ``emulators.kemp.network``)."""
        if self.is_local(address):
            return
        if not non_local or self.running["globals"].get("nonlocalrs") != "yes":
            raise err.non_local_rs()
        if is_transparent(vs):
            raise err.non_local_transparent()

    def _cmd_addrs(self, args: Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        address = self._rs_address(args)
        port_raw = args.get("rsport")
        if not port_raw:
            raise err.missing("rsport")
        port = parse_port("rsport", port_raw)
        if any(rs["Addr"] == address and rs["Port"] == port for rs in vs["Rs"]):
            raise err.duplicate_rs()
        non_local = parse_bool("non_local", args.get("non_local") or "0")
        self._check_local(vs, address, non_local)
        rs: dict[str, Any] = {
            "RsIndex": self.running["next_rs_index"],
            "Addr": address,
            "Port": port,
            "DnsName": "",
            "Forward": "nat",
            "Weight": 1000,
            "Limit": 0,
            "RateLimit": 0,
            "Follow": 0,
            "Enable": True,
            "Critical": False,
            "NonLocal": non_local,
        }
        # addrs ignores Forward (docs/kemp.md#real-servers: set it with modrs afterwards)
        self._apply_rs_params(rs, args, skip={"forward"})
        self.running["next_rs_index"] += 1
        vs["Rs"].append(rs)
        return RSResult(rs_view(vs, rs))

    def _apply_rs_params(
        self, rs: dict[str, Any], args: Args, skip: frozenset[str] | set[str] = frozenset()
    ) -> None:
        for wire, name, kind, detail in RS_PARAMS:
            raw = args.get(wire)
            if raw is None or wire in skip:
                continue
            if kind == "bool":
                rs[name] = parse_bool(name, raw)
            elif kind == "int":
                rs[name] = parse_int(name, raw, detail)
            else:
                value = raw.strip().lower()
                if value not in detail:
                    raise err.invalid_value(name)
                rs[name] = value

    def _cmd_showrs(self, args: Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        return RSResult(rs_view(vs, self._lookup_rs(vs, args)))

    def _cmd_modrs(self, args: Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        rs = self._lookup_rs(vs, args)
        new_port = args.get("newport")
        if new_port:
            port = parse_port("newport", new_port)
            if any(o is not rs and o["Addr"] == rs["Addr"] and o["Port"] == port for o in vs["Rs"]):
                raise err.duplicate_rs()
            rs["Port"] = port
        if args.has("non_local"):
            rs["NonLocal"] = parse_bool("non_local", args.get("non_local") or "0")
        self._apply_rs_params(rs, args)
        return Message()

    def _cmd_delrs(self, args: Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        rs = self._lookup_rs(vs, args)
        vs["Rs"].remove(rs)
        return Message()

    def _set_rs_everywhere(self, args: Args, enabled: bool) -> Result:
        address = self._rs_address(args)
        found = False
        for vs in self._vs_list():
            for rs in vs["Rs"]:
                if rs["Addr"] == address:
                    rs["Enable"] = enabled
                    found = True
        if not found:
            raise err.unknown_rs()
        return Message()

    def _cmd_enablers(self, args: Args, **_: Any) -> Result:
        return self._set_rs_everywhere(args, True)

    def _cmd_disablers(self, args: Args, **_: Any) -> Result:
        return self._set_rs_everywhere(args, False)
