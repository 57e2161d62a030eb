"""What showvs / listvs / showrs answer: the VS and RS views, and the layer a VS runs at.

Field order is the newer firmware's (docs/kemp.md#booleans); elements that are empty are left out
(docs/kemp.md#defaults-and-absent-elements); Layer, ForceL4/ForceL7 and Transparent are derived, not stored
(docs/kemp.md#layer-4-and-layer-7)."""

from __future__ import annotations

from typing import Any

from emulators.kemp.types import COOKIE_PERSIST, View


def vs_layer(vs: dict[str, Any]) -> int:
    return 7 if is_layer7(vs) else 4


def is_layer7(vs: dict[str, Any]) -> bool:
    if vs["VStype"] != "gen" or vs["SSLAcceleration"] or vs["Persist"] in COOKIE_PERSIST:
        return True
    return bool(vs["ForceL7"])


def is_transparent(vs: dict[str, Any]) -> bool:
    """Transparent as showvs shows it: layer 4 is always transparent (docs/kemp.md#layer-4-and-layer-7)."""
    return vs_layer(vs) == 4 or bool(vs["Transparent"])


def vs_view(vs: dict[str, Any]) -> View:
    """The VS as showvs returns it (newer firmware field order, empty optional fields omitted)."""
    force_l7 = is_layer7(vs)
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
        view.append(("Rs", [rs_view(vs, rs) for rs in vs["Rs"]]))
    return view


def rs_view(vs: dict[str, Any], rs: dict[str, Any]) -> View:
    # Status of a disabled RS is not confirmed by any source (docs/kemp.md#real-servers): "Disabled" is
    # assumed.
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
