"""``netsh``, the native application, as far as the RRAS IKEv2 connection settings go.

``netsh ras set ikev2connection [idletimeout=]<minutes> [nwoutagetime=]<minutes>`` stores the two values in
seconds as RemoteAccess\\Parameters\\Ikev2 ``idleTimeout`` and ``networkBlackoutTime`` (REG_DWORD, MS-RRASM),
effective when RemoteAccess restarts; ``netsh ras show ikev2connection`` prints them in minutes. Tags are
case-insensitive and may be left out (then the values are taken in order). Ranges (Microsoft's netsh ras
reference): idletimeout 5-2879 minutes, nwoutagetime at least 2 minutes.

netsh prints its messages as text and sets an exit code; PowerShell writes no error record for it. The
messages are netsh's own: "The following command was not found: <command>." for an unknown command, "The
parameter is incorrect." for a value it refuses (seen on a real node for ikev2connection), "One or more
essential parameters were not entered." for a set with no value. What is unconfirmed (the layout of the show
output, the exit codes, the text on success): docs/rras.md#ikev2-connection-timeouts.
"""

from __future__ import annotations

from typing import Any

from emulators.winrm.cmdlets.external import Application

IDLE_TIMEOUT_MINUTES = (5, 2879)
NETWORK_OUTAGE_MINUTES = (2, 0xFFFFFFFF // 60)
INCORRECT = "The parameter is incorrect."
ESSENTIAL = [
    "One or more essential parameters were not entered.",
    "Verify the required parameters, and reenter them.",
    "The syntax supplied for this command is not valid. Check help for the correct syntax.",
    "",
    "Usage: set ikev2connection [idletimeout=]<idle_timeout> [nwoutagetime=]<nw_outage_time>",
]
FAILED = 1


def _not_found(argv: list[str]) -> tuple[list[str], int]:
    return [f"The following command was not found: {' '.join(argv)}.", ""], FAILED


def _show(backend: Any) -> tuple[list[str], int]:
    values = backend.ikev2_connection()
    return [
        "",
        f"Idle time-out (minutes)        : {values['idleTimeout'] // 60}",
        f"Network outage time (minutes)  : {values['networkBlackoutTime'] // 60}",
        "",
    ], 0


def _set(backend: Any, tokens: list[str]) -> tuple[list[str], int]:
    tags = ("idletimeout", "nwoutagetime")
    given: dict[str, str] = {}
    for index, token in enumerate(tokens):
        tag, sep, value = token.partition("=")
        if not sep:
            if index >= len(tags) or tags[index] in given:
                return [INCORRECT, ""], FAILED
            tag, value = tags[index], token
        if tag.lower() not in tags or tag.lower() in given:
            return [INCORRECT, ""], FAILED
        given[tag.lower()] = value
    if not given:
        return [*ESSENTIAL, ""], FAILED
    minutes: dict[str, int] = {}
    for tag, (low, high) in zip(tags, (IDLE_TIMEOUT_MINUTES, NETWORK_OUTAGE_MINUTES), strict=True):
        if tag not in given:
            continue
        text = given[tag].strip()
        if not text.isdigit() or not low <= int(text) <= high:
            return [INCORRECT, ""], FAILED
        minutes[tag] = int(text)
    idle, outage = minutes.get("idletimeout"), minutes.get("nwoutagetime")
    backend.set_ikev2_connection(
        idle * 60 if idle is not None else None, outage * 60 if outage is not None else None
    )
    return [], 0


def run(backend: Any, argv: list[str]) -> tuple[list[str], int]:
    """netsh with ``argv``: (the lines it prints, its exit code)."""
    if not argv:
        return [], 0  # interactive netsh reading an empty standard input
    words = [a.lower() for a in argv]
    if words[:1] != ["ras"] or len(words) < 3 or words[2] != "ikev2connection":
        return _not_found(argv)
    if words[1] == "show":
        return _show(backend) if len(words) == 3 else ([INCORRECT, ""], FAILED)
    if words[1] == "set":
        return _set(backend, argv[3:])
    return _not_found(argv)


APPLICATIONS: tuple[Application, ...] = (Application("netsh", ("netsh.exe",), run),)
