"""What a node's answers mean: the value maps of Get-VpnServerConfiguration's enum properties and of a
service's status, in one table each, read in every form a node may send.

``Get-VpnServerConfiguration`` declares EncryptionMethod, IntegrityCheckMethod, CipherTransformConstants,
AuthenticationTransformConstants, DHGroup and PfsGroup as uint32 (the RAMgmtPSProvider MOF), so over
PowerShell Remoting a node may send the number, an enum object whose ToString is the name (pypsrp's
GenericComplexObject), or the name itself as a string. ``declared_name`` turns each into the name the
declaration uses (docs/rras.md#value-maps); a number or name no map knows reads back as
``unknown <property> <value>``, which never equals a declared value, so the difference shows in a preview
and the next ``up`` sets the policy again rather than calling it equal.

``service_status`` does the same for ServiceController.Status (a string over remoting, an enum object, or
the ServiceControllerStatus number): docs/rras.md#get-service-over-remoting."""

from __future__ import annotations

from typing import Any

#: Per Get-VpnServerConfiguration property: the declaration's name -> the uint32 a node sends
#: (docs/rras.md#value-maps: MS-RRASM ROUTER_CUSTOM_IKEv2_POLICY_0 and the WFP enums it names).
VALUE_MAPS: dict[str, dict[str, int]] = {
    "EncryptionMethod": {
        "DES": 0,
        "DES3": 1,
        "AES128": 2,
        "AES192": 3,
        "AES256": 4,
        "GCMAES128": 5,
        "GCMAES256": 6,
    },
    "IntegrityCheckMethod": {"MD5": 0, "SHA1": 1, "SHA256": 2, "SHA384": 3},
    "CipherTransformConstants": {
        "DES": 1,
        "DES3": 2,
        "AES128": 3,
        "AES192": 4,
        "AES256": 5,
        "GCMAES128": 6,
        "GCMAES192": 7,
        "GCMAES256": 8,
        "None": 9,
    },
    "AuthenticationTransformConstants": {
        "MD596": 0,
        "SHA196": 1,
        "SHA256128": 2,
        "GCMAES128": 3,
        "GCMAES192": 4,
        "GCMAES256": 5,
        "None": 6,
    },
    "DHGroup": {
        "None": 0,
        "Group1": 1,
        "Group2": 2,
        "Group14": 3,
        "ECP256": 4,
        "ECP384": 5,
        "Group24": 6,
    },
    "PfsGroup": {
        "None": 0,
        "PFS1": 1,
        "PFS2": 2,
        "PFS2048": 3,
        "ECP256": 4,
        "ECP384": 5,
        "PFSMM": 6,
        "PFS24": 7,
    },
}

#: Numbers no public source settles (docs/rras.md#value-maps): the documented order puts them last; the
#: declaration refuses None for both (the client profile cannot say None), so they never compare equal to a
#: declared value either way.
UNCONFIRMED: frozenset[tuple[str, str]] = frozenset(
    {("CipherTransformConstants", "None"), ("AuthenticationTransformConstants", "None")}
)

#: System.ServiceProcess.ServiceControllerStatus (docs/rras.md#get-service-over-remoting).
SERVICE_STATUS: dict[str, int] = {
    "Stopped": 1,
    "StartPending": 2,
    "StopPending": 3,
    "Running": 4,
    "ContinuePending": 5,
    "PausePending": 6,
    "Paused": 7,
}


def _read(table: dict[str, int], what: str, value: Any) -> str:
    """The name in ``table`` that ``value`` means: a number, a name in any case, or an object whose
    ToString is the name or the number. An enum object is read by its ToString alone: a name the table does
    not know is unknown even when its number is one the table maps to another name."""
    by_number = {n: name for name, n in table.items()}
    if isinstance(value, bool) or value is None:
        return f"unknown {what} {value!r}"
    if isinstance(value, int):
        return by_number.get(value, f"unknown {what} {value}")
    text = str(value).strip()
    for name in table:
        if name.lower() == text.lower():
            return name
    if text.isascii() and text.isdigit():
        return by_number.get(int(text), f"unknown {what} {text}")
    return f"unknown {what} {text!r}"


def declared_name(prop: str, value: Any) -> str:
    """The declaration's name of Get-VpnServerConfiguration's ``prop`` as a node sent it; ``unknown <prop>
    <value>`` when no documented value matches."""
    return _read(VALUE_MAPS[prop], prop, value)


def service_status(value: Any) -> str:
    """A ServiceController's Status as a node sent it, by its ServiceControllerStatus name ("Running");
    ``unknown status <value>`` when it is none of them."""
    return _read(SERVICE_STATUS, "status", value)
