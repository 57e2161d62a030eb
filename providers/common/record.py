"""Providers of records: resources whose outputs are their inputs, with nothing on a device to create or
read back (what clients see of a cluster, a node's Windows build check, a node's removal, its restarts).

``Record`` gives them the create, update, read and delete every such provider would otherwise repeat; a
provider names its id (``record_id``) and overrides what it really does (a removal's delete, a restart's
create and update).
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from providers.common.resource import plain


class Record:
    """Mixin (before the ResourceProvider base): the outputs are the inputs; nothing on a device."""

    def record_id(self, props: dict[str, Any]) -> str:
        raise NotImplementedError

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = plain(props)
        return CreateResult(self.record_id(props), props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(plain(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing on a device."""
