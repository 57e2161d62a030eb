"""The SSTP certificate's expiry: a read-only record of the certificate clients see, and an engine warning
in every ``preview`` and ``up`` while it expires within 30 days or has expired
(docs/rras.md#sstp-certificate-expiry).

Where the certificate is (``source``):
- ``load balancer``: TLS is offloaded, clients see the certificate in secret config (``certificate_secret``
  names the key; the PEM never leaves the provider, only its subject, thumbprint and expiry are recorded);
- ``node``: each node presents the certificate RRAS binds for SSTP, read with ``Get-RemoteAccess``
  (``SslCertificate``): PowerShell serializes an X509Certificate2 with its DER as ``RawData`` and its text
  (``[Subject] ... [Thumbprint]``) as ToString; the CIM property itself is a byte array, and an object
  serialized past the remoting depth is its text alone, so all three are read (the text's dates are in the
  node's local time, read as UTC: up to a day off, said in the warning's date).

Nothing is written anywhere. ``diff`` re-evaluates the days left at every run from the recorded expiry (the
load balancer's from the secret itself, which costs nothing), so the warning shows without a refresh, and
reports a change only when the inputs, or the configured certificate, changed; ``read`` (``refresh``) reads
the node's certificate again, so a renewed certificate is seen by the next refresh (the merge command and the
drift check refresh). The days left are never recorded in state: the stack output computes them per run.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from providers.common.device import ConfiguredProvider
from providers.common.diagnostics import warn_once
from providers.common.errors import ConfigurationError, ProviderError
from providers.common.resource import plain
from providers.rras.objects import prop
from providers.rras.session import NodeConnection, session_for

#: Warn when the certificate expires within this long (or has expired).
WARN_WITHIN = datetime.timedelta(days=30)
LOAD_BALANCER = "load balancer"
NODE = "node"
#: The keys that identify what the record is of; a change re-reads it.
INPUT_KEYS = ("cluster", "source", "node", "device", "certificate_secret")
RECORD_KEYS = ("subject", "thumbprint", "not_after")


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    #: SHA-1 of the DER, upper-case hex (X509Certificate2.Thumbprint)
    thumbprint: str
    #: UTC
    not_after: datetime.datetime

    def record(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "thumbprint": self.thumbprint,
            "not_after": self.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def _windows_name(name: Any) -> str:
    """An X.509 name as X509Certificate2.Subject writes it: the most specific part first, ", " between."""
    return ", ".join(rdn.rfc4514_string() for rdn in reversed(name.rdns))


def from_der(der: bytes) -> CertificateInfo:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(bytes(der))
    return CertificateInfo(
        subject=_windows_name(cert.subject),
        thumbprint=hashlib.sha1(bytes(der)).hexdigest().upper(),  # noqa: S324 - the Windows thumbprint
        not_after=cert.not_valid_after_utc,
    )


def from_pem(pem: bytes) -> CertificateInfo:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ConfigurationError(
            "the SSTP certificate in secret config is not a PEM X.509 certificate"
        ) from None
    return from_der(cert.public_bytes(serialization.Encoding.DER))


_SECTION = re.compile(r"\[(?P<label>[^\]]+)\]\s*\r?\n\s*(?P<value>[^\r\n]*)")
_TEXT_DATES = ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def from_text(text: str) -> CertificateInfo:
    """X509Certificate2.ToString(): ``[Subject]``, ``[Thumbprint]`` and ``[Not After]`` (en-US, the session's
    culture; local time, taken as UTC)."""
    sections = {m["label"].strip().lower(): m["value"].strip() for m in _SECTION.finditer(text)}
    subject, thumbprint, when = sections.get("subject"), sections.get("thumbprint"), sections.get("not after")
    if not (subject and thumbprint and when):
        raise ValueError("not an X509Certificate2 text")
    for pattern in _TEXT_DATES:
        try:
            parsed = datetime.datetime.strptime(when, pattern)
        except ValueError:
            continue
        return CertificateInfo(subject, thumbprint.upper(), parsed.replace(tzinfo=datetime.UTC))
    raise ValueError(f"cannot read the date {when!r}")


def from_ssl_certificate(value: Any) -> CertificateInfo | None:
    """Get-RemoteAccess's SslCertificate in any form it arrives in (see the module docstring); None when no
    certificate is bound. ValueError when it is something else."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return from_der(bytes(value)) if value else None
    raw = prop(value, "RawData")
    if isinstance(raw, bytes | bytearray) and raw:
        return from_der(bytes(raw))
    text = getattr(value, "to_string", None) or (value if isinstance(value, str) else None)
    if text:
        return from_text(str(text))
    raise ValueError(f"unexpected SslCertificate {type(value).__name__}")


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(datetime.UTC)


def days_left(not_after: str, now: datetime.datetime | None = None) -> int:
    """Whole days until ``not_after`` (ISO 8601), truncated as .NET's TimeSpan.Days (negative once
    expired)."""
    remaining = parse_time(not_after) - (now or datetime.datetime.now(datetime.UTC))
    return int(remaining / datetime.timedelta(days=1))


def where(props: dict[str, Any]) -> str:
    if props.get("source") == LOAD_BALANCER:
        return f"on the load balancer (secret config key {props.get('certificate_secret')})"
    return f"on node {props.get('node')}"


def expiry_warning(
    props: dict[str, Any], record: dict[str, Any], now: datetime.datetime | None = None
) -> str | None:
    """The warning for the certificate ``record`` describes, or None while it is valid for over 30 days."""
    cluster = props.get("cluster")
    if not record.get("thumbprint"):
        return (
            f"{cluster}: no certificate is bound for SSTP {where(props)} (Get-RemoteAccess reports no "
            "SslCertificate): SSTP clients cannot connect"
        )
    if not record.get("not_after"):
        return None
    now = now or datetime.datetime.now(datetime.UTC)
    end = parse_time(str(record["not_after"]))
    subject, thumbprint = record.get("subject"), record["thumbprint"]
    what = f"{cluster}: the SSTP certificate {subject} (thumbprint {thumbprint}) {where(props)}"
    date = end.strftime("%Y-%m-%d %H:%M UTC")
    if end <= now:
        return f"{what} expired on {date}: SSTP clients cannot connect until it is renewed"
    if end - now <= WARN_WITHIN:
        days = days_left(str(record["not_after"]), now)
        return (
            f"{what} expires in {days} day{'s' if days != 1 else ''}, on {date}: renew it (and, with TLS "
            "offload, update the secret) before SSTP clients fail to connect"
        )
    return None


class SstpCertificateProvider(ConfiguredProvider):
    """The record of one SSTP certificate (see the module docstring).

    Inputs: ``cluster``, ``source`` ("load balancer" or "node"), and ``certificate_secret`` (load balancer)
    or ``node`` and ``device`` (node). Outputs: the inputs, ``subject``, ``thumbprint`` and ``not_after``
    (ISO 8601 UTC; all None when the node binds no certificate)."""

    def _current(self, props: dict[str, Any]) -> dict[str, Any]:
        """The certificate as it is now: from secret config, or read from the node."""
        if props.get("source") == LOAD_BALANCER:
            key = str(props["certificate_secret"])
            pem = self._secrets.value(key, f"SSTP certificate of {props.get('cluster')}", "<PEM certificate>")
            return from_pem(pem.encode()).record()
        node = str(props["node"])
        session = session_for(NodeConnection.from_device(node, props["device"]), self._secrets)
        out = session.invoke("Get-RemoteAccess")
        value = prop(out[0], "SslCertificate") if out else None
        try:
            info = from_ssl_certificate(value)
        except ValueError as exc:
            raise ProviderError(
                f"node {node}: cannot read the SSTP certificate from Get-RemoteAccess: {exc}"
            ) from None
        return info.record() if info else dict.fromkeys(RECORD_KEYS)

    def _record(self, props: dict[str, Any]) -> dict[str, Any]:
        inputs = {k: props[k] for k in INPUT_KEYS if k in props}
        current = self._current(props)
        self._warn(props, current)
        return {**inputs, **current}

    @staticmethod
    def _warn(props: dict[str, Any], record: dict[str, Any]) -> None:
        message = expiry_warning(props, record)
        if message:
            key = f"sstp-certificate {props.get('cluster')} {where(props)} {record.get('thumbprint')}"
            warn_once(key, message)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = dict(news)
        if not olds:
            # A new record (a preview before the first up): warn now if the certificate can be read; a node
            # that cannot be reached fails the create, not the preview's check.
            try:
                self._warn(plain(news), self._current(plain(news)))
            except ProviderError:
                pass
        return CheckResult(checked, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = plain(olds), plain(news)
        changed = any(olds.get(k) != news.get(k) for k in INPUT_KEYS)
        if not changed and news.get("source") == LOAD_BALANCER:
            current = self._current(news)
            self._warn(news, current)
            changed = current["thumbprint"] != olds.get("thumbprint")
        elif not changed:
            self._warn(news, {k: olds.get(k) for k in RECORD_KEYS})
        return DiffResult(changes=changed, replaces=[], stables=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = plain(props)
        name = props.get("node") if props.get("source") == NODE else "load-balancer"
        return CreateResult(f"{props.get('cluster')}/{name}/sstp-certificate", self._record(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._record(plain(news)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        props = plain(props)
        inputs = {k: props[k] for k in INPUT_KEYS if k in props}
        return ReadResult(id_, {**inputs, **self._current(props)})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing on a device: a record."""
