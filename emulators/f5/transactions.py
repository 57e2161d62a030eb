"""Transactions on the BIG-IP twin: commands queued, then applied all or nothing
(docs/f5.md#transactions-save-and-config-sync).

``POST /mgmt/tm/transaction`` opens one; a write carrying ``X-F5-REST-Coordination-Id`` is queued (the
reply is the command, kind ``tm:transaction:commandsstate``, not the object) and nothing is visible until
``PATCH {"state": "VALIDATING"}`` runs the queue; any failure rolls the whole configuration back.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from emulators.f5.exceptions import BadValue, F5Error, RestError
from emulators.f5.query import VERSION
from emulators.f5.store import ObjectStore

Obj = dict[str, Any]


@dataclass
class Transaction:
    trans_id: int
    commands: list[Obj] = field(default_factory=list)
    state: str = "STARTED"
    failure: str = ""


class Transactions(ObjectStore):
    """Open transactions and their queued commands (a mixin of ``F5Backend``)."""

    transactions: dict[int, Transaction]
    _trans_ids: Iterator[int]

    def begin(self) -> Obj:
        with self.lock:
            trans = Transaction(next(self._trans_ids))
            self.transactions[trans.trans_id] = trans
            return self._trans_body(trans)

    def _trans_body(self, trans: Transaction) -> Obj:
        return {
            "transId": trans.trans_id,
            "state": trans.state,
            "timeoutSeconds": 120,
            "asyncExecution": False,
            "validateOnly": False,
            "executionTimeout": 300,
            "executionTime": 0,
            "failureReason": trans.failure,
            "kind": "tm:transactionstate",
            "selfLink": f"https://localhost/mgmt/tm/transaction/{trans.trans_id}?ver={VERSION}",
        }

    def enqueue(self, trans_id: int, method: str, path: str, query: dict[str, str], body: Any) -> Obj:
        with self.lock:
            trans = self.transactions.get(trans_id)
            if trans is None or trans.state != "STARTED":
                raise RestError(400, f"Transaction {trans_id} does not exist or is not open.")
            command_id = len(trans.commands) + 1
            trans.commands.append({"method": method, "path": path, "query": query, "body": body})
            return {
                "method": method,
                "uri": f"https://localhost/mgmt/tm/{path}",
                "body": body,
                "evalOrder": command_id,
                "commandId": command_id,
                "kind": "tm:transaction:commandsstate",
                "selfLink": f"https://localhost/mgmt/tm/transaction/{trans_id}/commands/{command_id}?ver={VERSION}",
            }

    def transaction(self, method: str, trans_id: int, body: Any) -> Obj:
        with self.lock:
            trans = self.transactions.get(trans_id)
            if trans is None:
                raise RestError(404, f"Transaction {trans_id} does not exist.")
            if method == "GET":
                return self._trans_body(trans)
            if method == "DELETE":
                del self.transactions[trans_id]
                return self._trans_body(trans)
            if (body or {}).get("state") != "VALIDATING":
                raise BadValue('A transaction is committed with {"state": "VALIDATING"}')
            snapshot = copy.deepcopy(self.running)
            try:
                for command in trans.commands:
                    self.handle(command["method"], command["path"], command["query"], command["body"])
            except F5Error as exc:
                self.running = snapshot  # all or nothing
                trans.state, trans.failure = "FAILED", exc.message
                del self.transactions[trans_id]
                raise F5Error(exc.status, f"transaction failed:{exc.message}", exc.api_error) from None
            trans.state = "COMPLETED"
            del self.transactions[trans_id]
            return self._trans_body(trans)
