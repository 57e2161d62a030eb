"""NITRO vocabulary shared by the Citrix providers: entries, markers in comments, attribute comparisons,
and the name-map fields every marked object has (its name attribute and its ``comment``)."""

from __future__ import annotations

from typing import Any

from providers.common.fields import FROM_INPUTS, Field, FieldMap, number, text_or_none

#: What a marked object without any comment is, as an owner (so that "no marker" differs from "ours").
NOT_OURS = "not ours"


def first(found: Any) -> dict[str, Any] | None:
    """The first entry of a NITRO answer (a list for ordinary resources), or the singleton's dict."""
    if isinstance(found, list):
        return found[0] if found and isinstance(found[0], dict) else None
    return found if isinstance(found, dict) else None


def comment(obj: dict[str, Any]) -> str | None:
    return text_or_none(obj.get("comment"))


def unmarked(marker: str | None, owner: str) -> bool:
    """Whether a comment carries no marker of this project: none, or a person's own text. ``owner`` is this
    stack's marker (``<project marker>:<project>/<stack>``); a comment in the same form names another stack.
    The ADC has one free-text comment per object, which people use for descriptions: a declared adoption
    takes over such an object (and the comment becomes the marker), never one another stack marked."""
    if marker in (None, NOT_OURS):
        return True
    prefix = owner.split(":", 1)[0] + ":"
    return not str(marker).startswith(prefix)


def owner_text(marker: str | None) -> str:
    return "not marked" if marker in (None, NOT_OURS) else f"marked {marker!r}"


def same(found: Any, wanted: Any) -> bool:
    """Compare a NITRO attribute with an input: numbers by value, names exactly."""
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        return bool(number(found) == number(wanted))
    return found is not None and str(found) == str(wanted)


def named(attr: str = "name") -> FieldMap:
    """The object's name, in the NITRO attribute that holds it."""
    return FieldMap(Field("name", attr, default=FROM_INPUTS))


#: The ownership marker of server, servicegroup and lbvserver: their ``comment``.
MARKED = FieldMap(Field("owner", "comment", from_device=text_or_none))
