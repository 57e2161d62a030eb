"""The LoadMaster twin's tables: version, seeded users, enumerations, global parameters, write commands.

Values are the strings the LoadMaster shows (docs/kemp.md#status-codes-and-error-texts,
docs/kemp.md#values-and-defaults, docs/kemp.md#real-servers). ``VS_PARAMS`` and ``RS_PARAMS`` map a lower-case
wire name to its canonical name, kind and bounds (docs/kemp.md#parameter-names: names are case-insensitive);
they are applied in table order, whatever the order on the wire."""

from __future__ import annotations

from typing import Any

VERSION = "7.2.59.2.22338.RELEASE"
#: The seeded users: ``bal`` (the LoadMaster's default administrator, every permission), ``automation``
#: (the account every end-to-end test uses, holding exactly the least-privilege set of
#: docs/kemp.md#least-privilege-account), ``auditor`` (no permission: the default read-only access) and
#: ``rs-operator`` (Real Servers only).
DEFAULT_USERS = {
    "bal": "bal-pass",
    "automation": "automation-pass",
    "auditor": "auditor-pass",
    "rs-operator": "rs-operator-pass",
}
#: Their permissions (API tokens of ``usersetperms``, emulators.kemp.roles.PERMISSIONS).
DEFAULT_PERMISSIONS: dict[str, list[str]] = {
    "automation": ["vs", "real", "certs"],
    "auditor": [],
    "rs-operator": ["real"],
}
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
        "useraddlocal",
        "userdellocal",
        "usersetperms",
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
