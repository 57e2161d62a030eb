"""A classic-API client of the Kemp twin and the values the Kemp twin tests share.

``Kemp`` is a minimal ``/access`` client (it checks docs/kemp.md#status-codes-and-error-texts on every
answer); ``kemptech_loadmaster`` wraps Kemp's own python-kemptech-api (installed by requirements-extra.sh) as
an independent client."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import pytest
import requests
from defusedxml import ElementTree

VIP = "10.0.0.10"
USER, PASSWORD = "bal", "bal-pass"  # the twin's seeded users, not real credentials
RRAS = ("10.0.1.11", "10.0.1.12")


class Kemp:
    """A minimal classic-API client: GET /access/<cmd>?params, Basic auth, XML parsed with defusedxml."""

    def __init__(self, twin: Any, user: str = USER, password: str | None = PASSWORD) -> None:
        self.base = twin.url
        self.verify = str(twin.tls.ca_path)
        self.auth = (user, password) if password is not None else None
        self.session = requests.Session()

    def raw(self, command: str, **params: Any) -> requests.Response:
        return self.session.get(
            f"{self.base}/access/{command}",
            params=params,
            auth=self.auth,
            verify=self.verify,
            timeout=10,
        )

    def call(self, command: str, **params: Any) -> tuple[int, Element]:
        resp = self.raw(command, **params)
        root = ElementTree.fromstring(resp.content)
        assert root.tag == "Response"
        # docs/kemp.md#status-codes-and-error-texts: the HTTP status is the envelope's stat
        assert str(resp.status_code) == root.get("stat"), resp.text
        assert root.get("code") == ("ok" if resp.status_code == 200 else "fail")
        return resp.status_code, root

    def ok(self, command: str, **params: Any) -> Element:
        status, root = self.call(command, **params)
        assert status == 200, ElementTree.tostring(root)
        success = root.find("Success")
        assert success is not None
        data = success.find("Data")
        return data if data is not None else success

    def fail(self, command: str, status: int, **params: Any) -> str:
        got, root = self.call(command, **params)
        assert got == status, ElementTree.tostring(root)
        assert root.find("Success") is None
        return (root.findtext("Error") or "").strip()

    def v2(self, body: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.base}/accessv2", json=body, verify=self.verify, timeout=10)


def fields(element: Element) -> dict[str, str]:
    return {child.tag: (child.text or "") for child in element if len(child) == 0}


def kemptech_loadmaster(
    twin: Any, monkeypatch: pytest.MonkeyPatch, user: str = USER, password: str = PASSWORD
) -> Any:
    """python-kemptech-api's LoadMaster on the twin as ``user`` (skips the test when the library is not
    installed)."""
    kemptech = pytest.importorskip("python_kemptech_api")
    from python_kemptech_api import generic

    ca = str(twin.tls.ca_path)

    class VerifiedSession(requests.Session):
        """The library hard-codes verify=False; the twin's certificate is verified against its CA instead."""

        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            kwargs["verify"] = ca
            return super().request(*args, **kwargs)

    monkeypatch.setattr(generic, "Session", VerifiedSession)
    return kemptech.LoadMaster("127.0.0.1", user, password, port=twin.port)
