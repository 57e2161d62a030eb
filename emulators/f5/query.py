"""iControl REST addressing and query options: ``~Partition~name`` paths, selfLinks, ``$filter``.

What every answer shares, whichever object it is about: the TMOS version every ``selfLink`` carries
(``https://localhost/...?<query options>&ver=<version>``, docs/f5.md#urls-and-selflink), full paths written
with tildes in URLs (docs/f5.md#query-options), and the query options a GET honours (docs/f5.md#query-options,
docs/f5.md#query-options): ``expandSubcollections``, ``$filter=partition eq X`` and ``$select`` (the last is
applied by the object store)."""

from __future__ import annotations

from emulators.f5.exceptions import BadValue

VERSION = "17.1.0.1"


def expands(query: dict[str, str] | None) -> bool:
    """Whether a GET asked for its objects' sub-collections inline (``expandSubcollections=true``).

    BIG-IP then gives each ``<sub>Reference`` of every object in the answer (a single object or each
    item of a collection) an ``items`` list of the sub-collection's objects, beside its unchanged
    ``link`` (which keeps only ``?ver=``) and ``isSubcollection``; an empty sub-collection gets no
    ``items``; the items themselves are as a GET of the sub-collection gives them (own ``selfLink``
    with only ``?ver=``, the parent's ``generation``); the answer's own ``selfLink`` echoes the option
    before ``ver``. Shapes from the f5-sdk user guide (F5Networks/f5-common-python, docs: a pool with
    its ``membersReference.items``, ``?expandSubcollections=true&ver=11.6.0``) and a captured 12.1.2
    virtual in F5's Ansible unit tests (F5Networks/f5-ansible ``test_bigip_virtual_server.py``:
    ``profilesReference.items`` beside a ``policiesReference`` without ``items``). Values other than
    the lower-case ``true`` are taken as "no" [?].
    """
    return query is not None and query.get("expandSubcollections") == "true"


def _tilde(full: str) -> str:
    return full.replace("/", "~")


def _untilde(segment: str) -> str:
    from urllib.parse import unquote

    text = unquote(segment)
    if text.startswith("~"):
        return text.replace("~", "/")
    return f"/Common/{text}"


def _self_link(link: str, query: dict[str, str] | None) -> str:
    """selfLink echoes the request's query options before ``ver`` (docs/f5.md#urls-and-selflink)."""
    from urllib.parse import quote

    extra = "".join(
        f"{quote(k, safe='$')}={quote(v, safe='')}&" for k, v in (query or {}).items() if k != "ver"
    )
    return f"{link}?{extra}ver={VERSION}"


def _partition_filter(value: str | None) -> str | None:
    if not value:
        return None
    words = value.replace("+", " ").split()
    if len(words) == 3 and words[0] == "partition" and words[1] == "eq":
        return words[2].strip("'\"")
    raise BadValue(f"Unsupported $filter: {value}")
