"""The LoadMaster twin's state and rules (classic ``/access`` API and JSON ``/accessv2`` subset).

State: global parameters, Virtual Services (VS) with their Real Servers (RS), API keys. Rules follow
reference/kemp.md and its fidelity traps (§12):

* a VS is addressed by ``vs=<IP>&port=&prot=`` or by a bare Index (``vs=!n`` is an address, trap 2); an RS by
  ``rs=<IP>&rsport=`` or ``rs=!<RsIndex>`` (``rs=n`` is an address);
* parameter names are case-insensitive, unknown ones are ignored (trap 3); booleans accept Y/N, y/n,
  1/0, yes/no, true/false and are emitted as Y/N (trap 4);
* new VSs get max(Index)+1, RsIndex is one global counter that is never renumbered; ``renumber()``
  closes Index gaps the way a global configuration change does on firmware 7.2.6x (trap 13);
* defaults depend on port/type (VStype ``http`` for tcp/80, else ``gen``; CheckType follows VStype;
  Transparent/SubnetOriginating seeded by the global settings; Idletime 0 stored as 660, trap 8);
* ForceL7/ForceL4/Layer are coupled, non-``gen`` types, cookie persistence and SSL acceleration are
  always layer 7, layer 4 is always transparent (trap 9);
* PersistTimeout 1-59 stored as 0, >=60 with persistence off enables ``src``, 0 clears Persist (trap 10);
* SSLAcceleration=N clears CertFile, =Y without a certificate shows a 32-hex self-signed id (trap 11);
* deleting a VS deletes its RSs (trap 12); FollowVSID is stored as given, never mirrored (trap 14), and
  setting it needs the same RS addresses and persistence on both VSs (§7);
* there is no save command: every successful change is persisted at once, so a reboot keeps it (§8).

Texts of errors no source confirms are in ``emulators.kemp.exceptions``.
"""

from __future__ import annotations

import base64
import copy
import gzip
import ipaddress
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulators.common import TwinBackend
from emulators.kemp import exceptions as err
from emulators.kemp.exceptions import KempError

VERSION = "7.2.59.2.22338.RELEASE"
DEFAULT_USERS = {"bal": "bal-pass", "automation": "automation-pass"}
OK = "Command completed ok"

VS_TYPES = ("gen", "http", "http2", "ts", "tls", "log")
PERSIST_MODES = (
    "src",
    "ssl",
    "cookie",
    "active-cookie",
    "cookie-src",
    "active-cook-src",
    "cookie-hash",
    "cookie-hash-src",
    "url",
    "query-hash",
    "host",
    "header",
    "super",
    "super-src",
    "rdp",
    "rdp-src",
    "rdp-sb",
    "udpsip",
)
COOKIE_PERSIST = frozenset(m for m in PERSIST_MODES if "cook" in m)
SCHEDULES = ("rr", "wrr", "lc", "wlc", "fixed", "adaptive", "sh", "dl")
CHECK_TYPES = (
    "tcp",
    "icmp",
    "http",
    "https",
    "smtp",
    "nntp",
    "ftp",
    "telnet",
    "pop3",
    "imap",
    "rdp",
    "ldap",
    "bdata",
    "none",
)
FORWARD_MODES = ("nat", "route")
TRUE_WORDS = frozenset({"y", "yes", "1", "true", "on"})
FALSE_WORDS = frozenset({"n", "no", "0", "false", "off"})

# Global parameters (get/set/getall). Values are the strings the LoadMaster shows.
DEFAULT_GLOBALS: dict[str, str] = {
    "version": VERSION,
    "hostname": "lb100",
    "enableapi": "yes",
    "transparent": "no",
    "subnetoriginating": "yes",
    "nonlocalrs": "no",
    "dropatdrainend": "no",
    "dropconnectionsonrsfail": "no",
    "backupenable": "no",
    "backuphost": "",
    "backuphour": "0",
    "backupminute": "0",
}
BOOLEAN_GLOBALS = frozenset(
    {
        "enableapi",
        "transparent",
        "subnetoriginating",
        "nonlocalrs",
        "dropatdrainend",
        "dropconnectionsonrsfail",
        "backupenable",
    }
)
READ_ONLY_GLOBALS = frozenset({"version"})

WRITE_COMMANDS = frozenset(
    {
        "addvs",
        "modvs",
        "delvs",
        "addrs",
        "modrs",
        "delrs",
        "enablers",
        "disablers",
        "set",
        "addapikey",
        "delapikey",
        "restore",
        "addcert",
        "delcert",
    }
)

# Writable VS parameters: lower-case wire name -> (canonical name, kind, detail). Applied in this order,
# whatever the order on the wire (Persist before PersistTimeout, VStype before ForceL7, SSL before CertFile).
VS_PARAMS: list[tuple[str, str, str, Any]] = [
    ("vstype", "VStype", "enum", VS_TYPES),
    ("nickname", "NickName", "str", None),
    ("enable", "Enable", "bool", None),
    ("forcel7", "ForceL7", "bool", None),
    ("forcel4", "ForceL4", "bool", None),
    ("transparent", "Transparent", "bool", None),
    ("subnetoriginating", "SubnetOriginating", "bool", None),
    ("persist", "Persist", "persist", None),
    ("persisttimeout", "PersistTimeout", "int", (0, 604800)),
    ("cookie", "Cookie", "str", None),
    ("querytag", "QueryTag", "str", None),
    ("schedule", "Schedule", "enum", SCHEDULES),
    ("idletime", "Idletime", "int", (0, 86400)),
    ("checktype", "CheckType", "enum", CHECK_TYPES),
    ("checkport", "CheckPort", "int", (0, 65530)),
    ("checkurl", "CheckUrl", "str", None),
    ("checkhost", "CheckHost", "str", None),
    ("checkpattern", "CheckPattern", "str", None),
    ("checkcodes", "CheckCodes", "str", None),
    ("checkuseget", "CheckUseGet", "int", (0, 2)),
    ("checkuse1.1", "CheckUse1.1", "bool", None),
    ("chkinterval", "ChkInterval", "int", (0, 120)),
    ("chktimeout", "ChkTimeout", "int", (0, 60)),
    ("chkretrycount", "ChkRetryCount", "int", (0, 15)),
    ("enhancedhealthchecks", "EnhancedHealthChecks", "bool", None),
    ("rsminimum", "RsMinimum", "int", (0, 1000)),
    ("sslacceleration", "SSLAcceleration", "bool", None),
    ("certfile", "CertFile", "str", None),
    ("sslreencrypt", "SSLReencrypt", "bool", None),
    ("sslrewrite", "SSLRewrite", "sslrewrite", None),
    ("tlstype", "TlsType", "int", (0, 31)),
    ("allowhttp2", "AllowHTTP2", "bool", None),
    ("addvia", "AddVia", "int", (0, 6)),
    ("defaultgw", "DefaultGW", "str", None),
    ("cache", "Cache", "bool", None),
    ("compress", "Compress", "bool", None),
    ("errorcode", "ErrorCode", "str", None),
    ("errorurl", "ErrorUrl", "str", None),
    ("followvsid", "FollowVSID", "int", (0, 1_000_000)),
]
RS_PARAMS: list[tuple[str, str, str, Any]] = [
    ("weight", "Weight", "int", (1, 65530)),
    ("limit", "Limit", "int", (0, 100000)),
    ("ratelimit", "RateLimit", "int", (0, 100000)),
    ("enable", "Enable", "bool", None),
    ("critical", "Critical", "bool", None),
    ("follow", "Follow", "int", (0, 1_000_000)),
    ("forward", "Forward", "enum", FORWARD_MODES),
]

View = list[tuple[str, Any]]


# -- results: what a command answers, rendered as XML or JSON by the HTTP layer ------------------------
@dataclass
class Message:
    text: str = OK


@dataclass
class VSResult:
    view: View


@dataclass
class VSListResult:
    views: list[View]


@dataclass
class RSResult:
    view: View


@dataclass
class ParamsResult:
    values: list[tuple[str, Any]]


@dataclass
class BinaryResult:
    payload: bytes
    filename: str = "backup.tar.gz"


Result = Message | VSResult | VSListResult | RSResult | ParamsResult | BinaryResult


@dataclass
class _Args:
    """The parameters of one call: lower-cased names, the last value of a repeated name wins."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def has(self, name: str) -> bool:
        return name in self.values


def parse_bool(name: str, value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise err.invalid_value(name)


def parse_int(name: str, value: str, bounds: tuple[int, int] | None) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise err.invalid_value(name) from None
    if bounds and not bounds[0] <= number <= bounds[1]:
        raise err.invalid_value(name)
    return number


def parse_port(name: str, value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise err.invalid_value(name) from None
    if not 3 <= number <= 65530:
        raise err.invalid_value(name)
    return number


def parse_address(name: str, value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise err.invalid_address(name) from None


class KempBackend(TwinBackend):
    vendor = "kemp"

    def __init__(
        self,
        data_dir: Path | str | None = None,
        users: dict[str, str] | None = None,
        local_networks: list[str] | None = None,
        strict_port_following: bool = True,
    ) -> None:
        self.users = dict(users or DEFAULT_USERS)
        #: subnets the LoadMaster is attached to; None = every address is local (no non_local check)
        self.local_networks = [ipaddress.ip_network(n) for n in local_networks] if local_networks else None
        self.strict_port_following = strict_port_following
        super().__init__(data_dir=data_dir)

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
        """The LoadMaster has no save step: a change is persistent as soon as it is made (§8)."""
        self.save_config()

    # -- authentication ----------------------------------------------------------------------------
    @property
    def api_enabled(self) -> bool:
        with self.lock:
            return bool(self.running["globals"].get("enableapi", "yes") == "yes")

    def set_api_enabled(self, enabled: bool) -> None:
        """What the WUI's "Enable API Interface" checkbox does (twin admin only)."""
        with self.lock:
            self.running["globals"]["enableapi"] = "yes" if enabled else "no"
            self._commit()

    def check_password(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        return expected is not None and secrets.compare_digest(expected.encode(), password.encode())

    def check_apikey(self, key: str) -> str | None:
        with self.lock:
            user = self.running["apikeys"].get(key)
            return str(user) if user is not None else None

    # -- dispatch ----------------------------------------------------------------------------------
    def execute(self, command: str, params: dict[str, str], user: str = "bal", body: bytes = b"") -> Result:
        args = _Args({k.lower(): v for k, v in params.items()})
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

    def _identity(self, args: _Args) -> tuple[str, int, str]:
        """The (address, port, protocol) triplet of addvs; missing parts are 400s."""
        raw = args.get("vs")
        if not raw:
            raise err.missing("vs", "Address")
        port_raw = args.get("port")
        if not port_raw:
            raise err.missing("port")
        prot_raw = args.get("prot")
        if not prot_raw:
            raise err.missing("prot")
        address = parse_address("VS", raw)
        port = parse_port("port", port_raw)
        prot = prot_raw.strip().lower()
        if prot not in ("tcp", "udp"):
            raise err.invalid_value("prot")
        return address, port, prot

    def _lookup_vs(self, args: _Args) -> dict[str, Any]:
        """``vs=<Index>`` alone, or ``vs=<IP>&port=&prot=`` (``vs=!n`` is an address: trap 2)."""
        raw = (args.get("vs") or "").strip()
        if not raw:
            raise err.missing("vs", "Address")
        if raw.isdigit():
            vs = self._by_index(int(raw))
            if vs is None:
                raise err.unknown_vs()
            return vs
        port_raw = args.get("port")
        if not port_raw:
            raise err.missing("port")
        prot_raw = args.get("prot")
        if not prot_raw:
            raise err.missing("prot")
        try:
            address = str(ipaddress.ip_address(raw))
            port = int(port_raw.strip())
        except ValueError:
            raise err.unknown_vs() from None
        found = self._find_triplet(address, port, prot_raw.strip().lower())
        if found is None:
            raise err.unknown_vs()
        return found

    def _lookup_rs(self, vs: dict[str, Any], args: _Args) -> dict[str, Any]:
        """``rs=!<RsIndex>`` or ``rs=<IP>[&rsport=]`` (a bare number is an address: trap 2)."""
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

    def _apply_vs_params(self, vs: dict[str, Any], args: _Args) -> set[str]:
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
                vs["AddVia"] = 0  # a type change resets some options (reference §4)
                vs["Cache"] = False
            vs["VStype"] = value
        elif name == "ForceL4":
            vs["ForceL7"] = not value
        elif name == "PersistTimeout":
            timeout = 0 if 0 < value < 60 else value  # trap 10
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
                vs["CertFile"] = ""  # trap 11
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
        """Port following: the followed VS exists and has the same RS addresses and persistence (§7)."""
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

    @staticmethod
    def layer(vs: dict[str, Any]) -> int:
        return 7 if KempBackend._force_l7(vs) else 4

    @staticmethod
    def _force_l7(vs: dict[str, Any]) -> bool:
        if vs["VStype"] != "gen" or vs["SSLAcceleration"] or vs["Persist"] in COOKIE_PERSIST:
            return True
        return bool(vs["ForceL7"])

    # -- views ---------------------------------------------------------------------------------------
    def vs_view(self, vs: dict[str, Any]) -> View:
        """The VS as showvs returns it (newer firmware field order, empty optional fields omitted)."""
        force_l7 = self._force_l7(vs)
        layer = 7 if force_l7 else 4
        enabled_rs = [rs for rs in vs["Rs"] if rs["Enable"]]
        status = "Up" if vs["Enable"] and enabled_rs else "Down"
        view: View = [
            ("Status", status),
            ("Index", vs["Index"]),
            ("VSAddress", vs["VSAddress"]),
            ("VSPort", str(vs["VSPort"])),
            ("Layer", layer),
        ]
        if vs["NickName"]:
            view.append(("NickName", vs["NickName"]))
        view += [
            ("Enable", vs["Enable"]),
            ("SSLReverse", False),
            ("SSLReencrypt", vs["SSLReencrypt"]),
            ("InterceptMode", 0),
            ("Intercept", False),
            ("AlertThreshold", 0),
            ("Transactionlimit", 0),
            ("Transparent", True if layer == 4 else vs["Transparent"]),
            ("SubnetOriginating", vs["SubnetOriginating"]),
            ("ServerInit", 0),
            ("StartTLSMode", 0),
            ("Idletime", vs["Idletime"]),
            ("Cache", vs["Cache"]),
            ("Compress", vs["Compress"]),
            ("Verify", 0),
            ("UseforSnat", False),
            ("ForceL4", not force_l7),
            ("ForceL7", force_l7),
            ("MultiConnect", False),
            ("ClientCert", 0),
            ("ErrorCode", vs["ErrorCode"]),
        ]
        if vs["ErrorUrl"]:
            view.append(("ErrorUrl", vs["ErrorUrl"]))
        view += [
            ("CheckUse1.1", vs["CheckUse1.1"]),
            ("MatchLen", 0),
            ("CheckUseGet", vs["CheckUseGet"]),
            ("SSLRewrite", str(vs["SSLRewrite"])),
            ("VStype", vs["VStype"]),
            ("FollowVSID", vs["FollowVSID"]),
            ("Protocol", vs["Protocol"]),
            ("Schedule", vs["Schedule"]),
            ("CheckType", vs["CheckType"]),
        ]
        if vs["Persist"]:
            view.append(("Persist", vs["Persist"]))
        view.append(("PersistTimeout", str(vs["PersistTimeout"])))
        for optional in ("Cookie", "QueryTag"):
            if vs[optional]:
                view.append((optional, vs[optional]))
        view.append(("CheckPort", str(vs["CheckPort"])))
        for optional in ("CheckUrl", "CheckHost", "CheckPattern", "CheckCodes"):
            if vs[optional]:
                view.append((optional, vs[optional]))
        view += [
            ("HTTPReschedule", False),
            ("NRules", 0),
            ("NRequestRules", 0),
            ("NResponseRules", 0),
            ("NMatchBodyRules", 0),
            ("NPreProcessRules", 0),
            ("EspEnabled", False),
            ("InputAuthMode", 0),
            ("OutputAuthMode", 0),
            ("MasterVS", 0),
            ("MasterVSID", vs["MasterVSID"]),
            ("AddVia", vs["AddVia"]),
            ("QoS", 0),
            ("TlsType", str(vs["TlsType"])),
            ("NeedHostName", False),
            ("OCSPVerify", False),
            ("AllowHTTP2", vs["AllowHTTP2"]),
            ("PassCipher", False),
            ("PassSni", False),
            ("ChkInterval", vs["ChkInterval"]),
            ("ChkTimeout", vs["ChkTimeout"]),
            ("ChkRetryCount", vs["ChkRetryCount"]),
            ("Bandwidth", 0),
            ("ConnsPerSecLimit", 0),
            ("RequestsPerSecLimit", 0),
            ("MaxConnsLimit", 0),
            ("RefreshPersist", False),
            ("ResponseStatusRemap", False),
            ("ResponseRemapMsgFormat", 0),
            ("EnhancedHealthChecks", vs["EnhancedHealthChecks"]),
            ("RsMinimum", vs["RsMinimum"]),
            ("SSLAcceleration", vs["SSLAcceleration"]),
        ]
        if vs["SSLAcceleration"] and vs["CertFile"]:
            view.append(("CertFile", vs["CertFile"]))
        if vs["DefaultGW"]:
            view.append(("DefaultGW", vs["DefaultGW"]))
        view.append(("NumberOfRSs", len(vs["Rs"])))
        if vs["Rs"]:
            view.append(("Rs", [self.rs_view(vs, rs) for rs in vs["Rs"]]))
        return view

    @staticmethod
    def rs_view(vs: dict[str, Any], rs: dict[str, Any]) -> View:
        # Status of a disabled RS is not confirmed by any source (reference §6): "Disabled" is assumed.
        status = ("Up" if vs["Enable"] else "Down") if rs["Enable"] else "Disabled"
        return [
            ("Status", status),
            ("VSIndex", vs["Index"]),
            ("RsIndex", rs["RsIndex"]),
            ("Addr", rs["Addr"]),
            ("Port", rs["Port"]),
            ("DnsName", rs.get("DnsName", "")),
            ("Forward", rs["Forward"]),
            ("Weight", rs["Weight"]),
            ("Limit", rs["Limit"]),
            ("RateLimit", rs["RateLimit"]),
            ("Follow", rs["Follow"]),
            ("Enable", rs["Enable"]),
            ("Critical", rs["Critical"]),
            ("Nrules", 0),
        ]

    # -- VS commands ---------------------------------------------------------------------------------
    def _cmd_addvs(self, args: _Args, **_: Any) -> Result:
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
        return VSResult(self.vs_view(vs))

    @staticmethod
    def _default_check(vs: dict[str, Any]) -> str:
        if vs["VStype"] in ("http", "http2"):
            return "http"
        if vs["Protocol"] == "udp":
            return "icmp"  # assumed (reference §13: default CheckType for UDP not confirmed)
        return "tcp"

    def _cmd_showvs(self, args: _Args, **_: Any) -> Result:
        return VSResult(self.vs_view(self._lookup_vs(args)))

    def _cmd_listvs(self, args: _Args, **_: Any) -> Result:
        return VSListResult([self.vs_view(vs) for vs in sorted(self._vs_list(), key=lambda v: v["Index"])])

    def _cmd_modvs(self, args: _Args, **_: Any) -> Result:
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
        given = self._apply_vs_params(vs, args)
        if "FollowVSID" in given:
            self._check_follow(vs)
        return VSResult(self.vs_view(vs))

    def _cmd_delvs(self, args: _Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        self._vs_list().remove(vs)
        for other in self._vs_list():
            if other["FollowVSID"] == vs["Index"]:
                other["FollowVSID"] = 0  # assumed: a follower of a deleted VS follows nothing
        return Message()

    # -- RS commands ---------------------------------------------------------------------------------
    def _rs_address(self, args: _Args) -> str:
        raw = args.get("rs")
        if not raw:
            raise err.missing("rs", "Address")
        return parse_address("RS", raw)

    def _check_local(self, address: str, non_local: bool) -> None:
        if self.local_networks is None:
            return
        ip = ipaddress.ip_address(address)
        if any(ip in net for net in self.local_networks):
            return
        if non_local and self.running["globals"].get("nonlocalrs") == "yes":
            return
        raise err.non_local_rs()

    def _cmd_addrs(self, args: _Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        address = self._rs_address(args)
        port_raw = args.get("rsport")
        if not port_raw:
            raise err.missing("rsport")
        port = parse_port("rsport", port_raw)
        if any(rs["Addr"] == address and rs["Port"] == port for rs in vs["Rs"]):
            raise err.duplicate_rs()
        non_local = parse_bool("non_local", args.get("non_local") or "0")
        self._check_local(address, non_local)
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
        # addrs ignores Forward (reference §6: set it with modrs afterwards)
        self._apply_rs_params(rs, args, skip={"forward"})
        self.running["next_rs_index"] += 1
        vs["Rs"].append(rs)
        return RSResult(self.rs_view(vs, rs))

    def _apply_rs_params(
        self, rs: dict[str, Any], args: _Args, skip: frozenset[str] | set[str] = frozenset()
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

    def _cmd_showrs(self, args: _Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        return RSResult(self.rs_view(vs, self._lookup_rs(vs, args)))

    def _cmd_modrs(self, args: _Args, **_: Any) -> Result:
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

    def _cmd_delrs(self, args: _Args, **_: Any) -> Result:
        vs = self._lookup_vs(args)
        rs = self._lookup_rs(vs, args)
        vs["Rs"].remove(rs)
        return Message()

    def _set_rs_everywhere(self, args: _Args, enabled: bool) -> Result:
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

    def _cmd_enablers(self, args: _Args, **_: Any) -> Result:
        return self._set_rs_everywhere(args, True)

    def _cmd_disablers(self, args: _Args, **_: Any) -> Result:
        return self._set_rs_everywhere(args, False)

    # -- global parameters ------------------------------------------------------------------------------
    def _cmd_get(self, args: _Args, **_: Any) -> Result:
        name = (args.get("param") or "").strip().lower()
        if not name:
            raise err.missing("param")
        globals_: dict[str, str] = self.running["globals"]
        if name not in globals_:
            raise err.unknown_parameter()
        return ParamsResult([(name, globals_[name])])

    # -- certificates (SSL acceleration) ----------------------------------------------------------------
    # POST /access/addcert?cert=<name>[&replace=1] with the PEM certificate and private key as the body;
    # GET /access/listcert; GET /access/delcert?cert=<name> (command names as Kemp's certificate tooling
    # uses them; the reply shapes and error texts are assumed).
    def _certs(self) -> dict[str, dict[str, Any]]:
        certs: dict[str, dict[str, Any]] = self.running.setdefault("certs", {})
        return certs

    def _cmd_addcert(self, args: _Args, body: bytes = b"", **_: Any) -> Result:
        name = (args.get("cert") or "").strip()
        if not name:
            raise err.missing("cert")
        replace = (args.get("replace") or "0").strip() in ("1", "y", "yes")
        if name in self._certs() and not replace:
            raise KempError(422, "Certificate already exists")  # assumed text
        facts = _pem_bundle(body)
        if facts is None:
            raise KempError(422, "Invalid certificate or key")  # assumed text
        self._certs()[name] = facts
        return Message(OK)

    def _cmd_listcert(self, args: _Args, **_: Any) -> Result:
        return ParamsResult(
            [("cert", [[("name", name), ("type", c["type"])]]) for name, c in sorted(self._certs().items())]
        )

    def _cmd_delcert(self, args: _Args, **_: Any) -> Result:
        name = (args.get("cert") or "").strip()
        if not name:
            raise err.missing("cert")
        if name not in self._certs():
            raise KempError(422, "Unknown certificate")  # assumed text
        if any(name in str(vs.get("CertFile", "")).split() for vs in self._vs_list()):
            raise KempError(422, "Certificate is in use by a Virtual Service")  # assumed text
        del self._certs()[name]
        return Message(OK)

    def _cmd_getall(self, args: _Args, **_: Any) -> Result:
        return ParamsResult(sorted(self.running["globals"].items()))

    def _cmd_set(self, args: _Args, **_: Any) -> Result:
        name = (args.get("param") or "").strip().lower()
        if not name:
            raise err.missing("param")
        value = args.get("value")
        if value is None:
            raise err.missing("value")
        globals_: dict[str, str] = self.running["globals"]
        if name not in globals_:
            raise err.unknown_parameter()
        if name in READ_ONLY_GLOBALS:
            raise err.read_only_parameter()
        if name in BOOLEAN_GLOBALS:
            value = "yes" if parse_bool(name, value) else "no"
        globals_[name] = value
        return Message()

    # -- API keys ------------------------------------------------------------------------------------
    def _cmd_addapikey(self, args: _Args, user: str = "bal", **_: Any) -> Result:
        key = secrets.token_urlsafe(24)
        self.running["apikeys"][key] = user
        return ParamsResult([("key", key)])

    def _cmd_listapikeys(self, args: _Args, user: str = "bal", **_: Any) -> Result:
        keys = [k for k, owner in self.running["apikeys"].items() if owner == user]
        return ParamsResult([("key", k) for k in keys])

    def _cmd_delapikey(self, args: _Args, user: str = "bal", **_: Any) -> Result:
        key = args.get("key") or args.get("apikey")
        if not key:
            raise err.missing("key")
        if self.running["apikeys"].get(key) != user:
            raise KempError(422, "Unknown API key")  # assumed text
        del self.running["apikeys"][key]
        return Message()

    # -- backup / restore -------------------------------------------------------------------------------
    def _cmd_backup(self, args: _Args, **_: Any) -> Result:
        config = {
            "globals": self.running["globals"],
            "vs": self.running["vs"],
            "next_rs_index": self.running["next_rs_index"],
        }
        return BinaryResult(gzip.compress(json.dumps(config, sort_keys=True).encode()))

    def _cmd_restore(self, args: _Args, body: bytes = b"", **_: Any) -> Result:
        kind_raw = args.get("type")
        if not kind_raw:
            raise err.missing("type")
        kind = parse_int("type", kind_raw, (1, 15))
        data = args.get("data")
        payload = base64.b64decode(data) if data else body
        try:
            config = json.loads(gzip.decompress(payload))
        except (OSError, ValueError):
            raise KempError(422, "Invalid backup file") from None  # assumed text
        if kind & 1:
            restored = dict(config["globals"])
            restored["version"] = VERSION
            self.running["globals"] = restored
        if kind & 2:
            self.running["vs"] = config["vs"]
            self.running["next_rs_index"] = max(self.running["next_rs_index"], config["next_rs_index"])
        return Message()

    # -- twin-only hooks --------------------------------------------------------------------------------
    def renumber(self) -> dict[int, int]:
        """Close Index gaps (top-level VSs first, then SubVSs) as a global change does on 7.2.6x (trap 13).

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


def _pem_bundle(body: bytes) -> dict[str, Any] | None:
    """A PEM certificate and its private key in one body: the facts kept of it, or None if unusable."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        cert = x509.load_pem_x509_certificate(body)
        key = serialization.load_pem_private_key(body, password=None)
    except (ValueError, TypeError):
        return None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = serialization.Encoding.PEM
    if key.public_key().public_bytes(pem, public) != cert.public_key().public_bytes(pem, public):
        return None
    return {
        "type": "RSA" if isinstance(key, rsa.RSAPrivateKey) else "EC",
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }
