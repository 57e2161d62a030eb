"""LoadMaster API errors: an HTTP status (always equal to the envelope's ``stat``) and the ``<Error>`` text.

docs/kemp.md#status-codes-and-error-texts: 400 for a missing mandatory parameter (``<name>: <Type> Value
missing``), 422 for an invalid operation (``Unknown VS``), 405 for an unknown command, 401 / 404 are not XML
at all (the HTTP layer renders them). Texts marked *assumed* were not confirmed by any source
(docs/kemp.md#unconfirmed-behaviour); they live here so that they can be changed in one place."""

from __future__ import annotations


class KempError(Exception):
    """A failed command: rendered as ``<Response stat="N" code="fail"><Error>text</Error></Response>``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def missing(name: str, kind: str = "String") -> KempError:
    """``vs: Address Value missing``, ``port: String Value missing``, ``param: String Value missing``."""
    return KempError(400, f"{name}: {kind} Value missing")


def unknown_vs() -> KempError:
    return KempError(422, "Unknown VS")


def unknown_rs() -> KempError:
    # assumed: appears only in a client's not-found list (docs/kemp.md#status-codes-and-error-texts)
    return KempError(422, "Unknown RS")


def duplicate_vs() -> KempError:
    # assumed text (docs/kemp.md#unconfirmed-behaviour)
    return KempError(422, "Virtual Service already exists")


def duplicate_rs() -> KempError:
    # assumed text (docs/kemp.md#real-servers)
    return KempError(422, "RS already exists")


def invalid_value(name: str) -> KempError:
    # assumed text and code (docs/kemp.md#unconfirmed-behaviour: invalid enum values, likely 422)
    return KempError(422, f"Invalid {name} value")


def invalid_address(name: str) -> KempError:
    # assumed text
    return KempError(422, f"Invalid {name} address")


def port_follow_mismatch(what: str) -> KempError:
    # assumed text: port following needs the same real servers and persistence on both services
    return KempError(422, f"Port following not possible: {what}")


def non_local_rs() -> KempError:
    # assumed text [?]: a real server outside the unit's networks without non_local=1 and the global
    # nonlocalrs (WUI guide "Add a Real Server": only local real servers unless "Allow Remote Addresses";
    # no source gives the API's words, see emulators.kemp.network)
    return KempError(422, "Non-local real server not permitted")


def non_local_transparent() -> KempError:
    # assumed text [?] (the rule is documented: "Transparency cannot be used with non-local Real Servers",
    # docs.progress.com loadmaster-feature-description-routing-ga/page/Transparency.html)
    return KempError(422, "Transparency cannot be used with non-local Real Servers")


def unknown_command() -> KempError:
    # 405 from python-kemptech-api's status table; body assumed
    return KempError(405, "Unknown command")


def unknown_parameter() -> KempError:
    # assumed text for get/set of a global parameter the twin does not know
    return KempError(422, "Unknown parameter")


def read_only_parameter() -> KempError:
    # assumed text
    return KempError(422, "Parameter is read-only")


def permission_denied() -> KempError:
    # 403 is the LoadMaster's status for "insufficient permissions" (python-kemptech-api's status table:
    # "Incorrect permissions"); the <Error> text is assumed [?] (docs/kemp.md#least-privilege-account)
    return KempError(403, "Permission Denied")


def user_exists() -> KempError:
    # the text python-kemptech-api compares a failed useraddlocal with (models.py add_local_user)
    return KempError(422, "User already exists.")


def unknown_user() -> KempError:
    # assumed text
    return KempError(422, "Unknown user")


def invalid_permission(token: str) -> KempError:
    # assumed text
    return KempError(422, f"Invalid permission {token}")


def invalid_username() -> KempError:
    # assumed text; the rule is documented (docs/kemp.md#names-the-loadmaster-accepts)
    return KempError(422, "Invalid username")
