"""The commands that only shape a pipeline's output: Select-Object and Out-Null.

Select-Object reads properties of the objects the previous command wrote (``-Property``,
``-ExpandProperty``, ``-First``); Out-Null discards them. The statement and pipeline runner that feeds
them is ``emulators.winrm.cmdlets.run_pipeline``.
"""

from __future__ import annotations

from typing import Any

from psrpcore.types import PSCustomObject, PSNoteProperty

from emulators.winrm.binder import CmdletSpec, Invocation, Param


def _prop_of(obj: Any, name: str) -> Any:
    ps = getattr(obj, "PSObject", None)
    if ps is None:
        return None
    for prop in [*ps.adapted_properties, *ps.extended_properties]:
        if prop.name.lower() == name.lower():
            return prop.get_value(obj)
    return None


def select_object(inv: Invocation, args: dict[str, Any]) -> None:
    items = list(inv.pipe_input)
    if "First" in args:
        items = items[: int(args["First"])]
    expand = args.get("ExpandProperty")
    props = args.get("Property")
    for item in items:
        if expand:
            value = _prop_of(item, expand)
            for v in value if isinstance(value, list) else [value]:
                inv.emit(v)
        elif props:
            out = PSCustomObject()
            for name in props:
                out.PSObject.extended_properties.append(PSNoteProperty(str(name), _prop_of(item, str(name))))
            inv.emit(out)
        else:
            inv.emit(item)


def out_null(inv: Invocation, args: dict[str, Any]) -> None:
    return None


CMDLETS: tuple[CmdletSpec, ...] = (
    CmdletSpec(
        "Select-Object",
        "Microsoft.PowerShell.Commands.SelectObjectCommand",
        select_object,
        (
            Param("Property", "strings", (), position=0),
            Param("ExpandProperty", "string"),
            Param("First", "uint32"),
            Param("InputObject", "object"),
        ),
        aliases=("select",),
    ),
    CmdletSpec(
        "Out-Null",
        "Microsoft.PowerShell.Commands.OutNullCommand",
        out_null,
        (Param("InputObject", "object"),),
    ),
)
