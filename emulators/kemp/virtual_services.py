"""Virtual Services: addvs / showvs / listvs / modvs / delvs, their defaults, couplings and views.

Rules (docs/kemp.md#port-following, docs/kemp.md#twin-fidelity-index):

* new VSs get max(Index)+1; ``renumber()`` closes Index gaps the way a global configuration change does
  on firmware 7.2.6x (docs/kemp.md#indexes-and-renumbering);
* defaults depend on port/type (VStype ``http`` for tcp/80, else ``gen``; CheckType follows VStype;
  Transparent/SubnetOriginating seeded by the global settings; Idletime 0 stored as 660,
  docs/kemp.md#defaults-and-absent-elements);
* ForceL7/ForceL4/Layer are coupled, non-``gen`` types, cookie persistence and SSL acceleration are
  always layer 7, layer 4 is always transparent (docs/kemp.md#layer-4-and-layer-7);
* PersistTimeout 1-59 stored as 0, >=60 with persistence off enables ``src``, 0 clears Persist
(docs/kemp.md#persistence-timeout);
* SSLAcceleration=N clears CertFile, =Y without a certificate shows a 32-hex self-signed id
(docs/kemp.md#ssl-acceleration-and-certificates);
* deleting a VS deletes its RSs (docs/kemp.md#deletes-cascade); FollowVSID is stored as given, never mirrored
(docs/kemp.md#port-following), and
  setting it needs the same RS addresses and persistence on both VSs (docs/kemp.md#port-following);
* a VS with non-local real servers cannot be made transparent (``emulators.kemp.network``).
"""

from __future__ import annotations

import secrets
from typing import Any

from emulators.kemp import exceptions as err
from emulators.kemp.base import KempBase
from emulators.kemp.exceptions import KempError
from emulators.kemp.results import (
    Args,
    Message,
    Result,
    VSListResult,
    VSResult,
    parse_address,
    parse_bool,
    parse_int,
    parse_port,
)
from emulators.kemp.types import PERSIST_MODES, VS_PARAMS
from emulators.kemp.views import is_transparent, vs_view


class VirtualServiceMixin(KempBase):
    # -- VS rules ----------------------------------------------------------------------------------
    def _new_vs(self, address: str, port: int, prot: str) -> dict[str, Any]:
        g = self.running["globals"]
        vs_type = "http" if prot == "tcp" and port == 80 else "gen"
        return {
            "Index": 0,
            "VSAddress": address,
            "VSPort": port,
            "Protocol": prot,
            "NickName": "",
            "Enable": True,
            "VStype": vs_type,
            "ForceL7": True,
            "Transparent": g.get("transparent") == "yes",
            "SubnetOriginating": g.get("subnetoriginating") == "yes",
            "Persist": "",
            "PersistTimeout": 0,
            "Cookie": "",
            "QueryTag": "",
            "Schedule": "rr",
            "Idletime": 660,
            "CheckType": "",
            "CheckPort": 0,
            "CheckUrl": "",
            "CheckHost": "",
            "CheckPattern": "",
            "CheckCodes": "",
            "CheckUseGet": 0,
            "CheckUse1.1": False,
            "ChkInterval": 0,
            "ChkTimeout": 0,
            "ChkRetryCount": 0,
            "EnhancedHealthChecks": False,
            "RsMinimum": 0,
            "SSLAcceleration": False,
            "CertFile": "",
            "SSLReencrypt": False,
            "SSLRewrite": 0,
            "TlsType": 0,
            "AllowHTTP2": False,
            "AddVia": 0,
            "DefaultGW": "",
            "Cache": False,
            "Compress": False,
            "ErrorCode": "0",
            "ErrorUrl": "",
            "FollowVSID": 0,
            "MasterVSID": 0,
            "Rs": [],
        }

    def _apply_vs_params(self, vs: dict[str, Any], args: Args) -> set[str]:
        """Apply the VS parameters present in ``args``; returns the canonical names that were given."""
        given: set[str] = set()
        for wire, name, kind, detail in VS_PARAMS:
            raw = args.get(wire)
            if raw is None:
                continue
            given.add(name)
            if kind == "str":
                value: Any = raw
            elif kind == "bool":
                value = parse_bool(name, raw)
            elif kind == "int":
                value = parse_int(name, raw, detail)
            elif kind == "enum":
                value = raw.strip().lower()
                if value not in detail:
                    raise err.invalid_value(name)
            elif kind == "persist":
                value = raw.strip().lower()
                if value == "none":
                    value = ""
                if value and value not in PERSIST_MODES:
                    raise err.invalid_value(name)
            elif kind == "sslrewrite":
                word = raw.strip().lower()
                mapping = {"": 0, "0": 0, "http": 1, "1": 1, "https": 2, "2": 2}
                if word not in mapping:
                    raise err.invalid_value(name)
                value = mapping[word]
            else:  # pragma: no cover - table error
                raise AssertionError(kind)
            self._set_vs_field(vs, name, value)
        return given

    def _set_vs_field(self, vs: dict[str, Any], name: str, value: Any) -> None:
        if name == "VStype":
            if vs["Protocol"] == "udp":
                return  # UDP services are always generic; ignored like other unsupported values
            if value != vs["VStype"]:
                # a type change resets some options (docs/kemp.md#defaults-and-absent-elements)
                vs["AddVia"] = 0
                vs["Cache"] = False
            vs["VStype"] = value
        elif name == "ForceL4":
            vs["ForceL7"] = not value
        elif name == "PersistTimeout":
            timeout = 0 if 0 < value < 60 else value  # docs/kemp.md#persistence-timeout
            vs["PersistTimeout"] = timeout
            if timeout == 0:
                vs["Persist"] = ""
            elif not vs["Persist"]:
                vs["Persist"] = "src"
        elif name == "Idletime":
            vs["Idletime"] = value or 660
        elif name == "SSLAcceleration":
            if vs["Protocol"] == "udp":
                return
            vs["SSLAcceleration"] = value
            if not value:
                vs["CertFile"] = ""  # docs/kemp.md#ssl-acceleration-and-certificates
                vs["AllowHTTP2"] = False
            elif not vs["CertFile"]:
                vs["CertFile"] = secrets.token_hex(16)  # the self-signed certificate's identifier
        elif name == "CertFile":
            if vs["SSLAcceleration"]:
                names = value.split()
                unknown = [n for n in names if n not in self.running.get("certs", {})]
                if unknown:
                    raise KempError(422, f"Unknown certificate {unknown[0]}")  # assumed text
                vs["CertFile"] = " ".join(names) or secrets.token_hex(16)
        elif name == "AllowHTTP2":
            if value and not vs["SSLAcceleration"]:
                raise KempError(422, "AllowHTTP2 requires SSL acceleration")  # assumed text
            vs["AllowHTTP2"] = value
        elif name == "RsMinimum":
            vs["RsMinimum"] = value if vs["EnhancedHealthChecks"] and value > 1 else 0
        elif name == "EnhancedHealthChecks":
            vs["EnhancedHealthChecks"] = value
            if not value:
                vs["RsMinimum"] = 0
        else:
            vs[name] = value

    def _check_follow(self, vs: dict[str, Any]) -> None:
        """Port following: the followed VS exists and has the same RS addresses and persistence
        (docs/kemp.md#port-following)."""
        target_index = vs["FollowVSID"]
        if not target_index:
            return
        target = self._by_index(target_index)
        if target is None:
            raise err.unknown_vs()
        if target is vs or target["Index"] == vs["Index"]:
            raise err.port_follow_mismatch("a service cannot follow itself")
        if not self.strict_port_following:
            return
        mine = sorted({rs["Addr"] for rs in vs["Rs"]})
        theirs = sorted({rs["Addr"] for rs in target["Rs"]})
        if mine != theirs:
            raise err.port_follow_mismatch("the services have different real servers")
        if (vs["Persist"], vs["PersistTimeout"]) != (target["Persist"], target["PersistTimeout"]):
            raise err.port_follow_mismatch("the services have different persistence settings")

    # -- VS commands ---------------------------------------------------------------------------------
    def _cmd_addvs(self, args: Args, **_: Any) -> Result:
        address, port, prot = self._identity(args)
        if self._find_triplet(address, port, prot) is not None:
            raise err.duplicate_vs()
        vs = self._new_vs(address, port, prot)
        vs["Index"] = max((v["Index"] for v in self._vs_list()), default=0) + 1
        given = self._apply_vs_params(vs, args)
        if "CheckType" not in given:
            vs["CheckType"] = self._default_check(vs)
        self._vs_list().append(vs)
        self._check_follow(vs)
        return VSResult(vs_view(vs))

    @staticmethod
    def _default_check(vs: dict[str, Any]) -> str:
        if vs["VStype"] in ("http", "http2"):
            return "http"
        if vs["Protocol"] == "udp":
            # assumed (docs/kemp.md#unconfirmed-behaviour: default CheckType for UDP not confirmed)
            return "icmp"
        return "tcp"

    def _cmd_showvs(self, args: Args, **_: Any) -> Result:
        return VSResult(vs_view(self._lookup_vs(args)))

    def _cmd_listvs(self, args: Args, **_: Any) -> Result:
        return VSListResult([vs_view(vs) for vs in sorted(self._vs_list(), key=lambda v: v["Index"])])

    def _cmd_modvs(self, args: Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        new_address = args.get("vsaddress")
        new_port = args.get("vsport")
        if new_address is not None or new_port is not None:
            address = parse_address("VSAddress", new_address) if new_address else vs["VSAddress"]
            port = parse_port("VSPort", new_port) if new_port else vs["VSPort"]
            other = self._find_triplet(address, port, vs["Protocol"])
            if other is not None and other is not vs:
                raise err.duplicate_vs()
            vs["VSAddress"], vs["VSPort"] = address, port
        was_transparent = is_transparent(vs)
        given = self._apply_vs_params(vs, args)
        if "FollowVSID" in given:
            self._check_follow(vs)
        if (
            not was_transparent
            and is_transparent(vs)
            and any(not self.is_local(rs["Addr"]) for rs in vs["Rs"])
        ):
            # "Transparency cannot be used with non-local Real Servers" (emulators.kemp.network); that modvs
            # refuses it, rather than only the WUI hiding the option, is assumed [?]
            raise err.non_local_transparent()
        return VSResult(vs_view(vs))

    def _cmd_delvs(self, args: Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        self._vs_list().remove(vs)
        for other in self._vs_list():
            if other["FollowVSID"] == vs["Index"]:
                other["FollowVSID"] = 0  # assumed: a follower of a deleted VS follows nothing
        return Message()

    # -- twin-only hooks --------------------------------------------------------------------------------
    def renumber(self) -> dict[int, int]:
        """Close Index gaps (top-level VSs first, then SubVSs) as a global change does on 7.2.6x
        (docs/kemp.md#indexes-and-renumbering).

        Returns old -> new Index; FollowVSID and MasterVSID references follow. RsIndex is never renumbered.
        """
        with self.lock:
            ordered = sorted(self._vs_list(), key=lambda v: (v["MasterVSID"] != 0, v["Index"]))
            mapping = {vs["Index"]: n for n, vs in enumerate(ordered, start=1)}
            for vs in ordered:
                vs["Index"] = mapping[vs["Index"]]
                vs["FollowVSID"] = mapping.get(vs["FollowVSID"], 0)
                vs["MasterVSID"] = mapping.get(vs["MasterVSID"], 0)
            self.running["vs"] = ordered
            self._commit()
            return mapping
