"""The WinRM endpoint: WS-Management SOAP (Create, Command, Send, Receive, Signal, Delete, Get) carrying PSRP.

``WinRMApp`` is one node's WSMan service; ``emulators.winrm.listener.WinRMListener`` serves it over HTTP(S)
(routing, authentication, message encryption). Each shell is a psrpcore ``ServerRunspacePool``; incoming
base64 fragments are fed to it, its outgoing payloads are routed by pipeline id to the Receive without a
CommandId (pool messages) or with that CommandId (docs/rras.md#wsman-exchanges). Pipelines run in a thread of
their own so that a slow Restart-Service leaves Receive long-polling (and timing out with fault 2150858793,
which pypsrp retries) as on Windows. All psrpcore calls for a shell happen under that shell's lock.

Idle shells (docs/rras.md#idle-shells): a shell whose client sent nothing for its idle timeout is deleted, as
the WinRM service does; later requests naming it get the InvalidSelectors fault 2150858843 ("... the shell
was not found on the server ..."). The timeout is the ``rsp:IdleTimeOut`` of the Create request (pypsrp
sends one only with ``RunspacePool(idle_timeout=...)``), at least 60 s and at most MaxIdleTimeoutMs,
else the session configuration's IdleTimeoutMs (7200 s by default). Time is the twin's ``TwinClock``,
which tests advance instead of sleeping; a request in progress on a shell (a long-polling Receive)
counts as activity."""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import psrpcore
from defusedxml import ElementTree as SafeET
from psrpcore.types import ErrorRecord, PSInvocationState

from emulators.winrm import jea
from emulators.winrm.backend import RrasBackend
from emulators.winrm.cmdlets import Terminating, canonical_name, is_write_command, run_pipeline

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
    "cfg": "http://schemas.microsoft.com/wbem/wsman/1/config",
}
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
PS_RESOURCE = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
CONFIG_RESOURCE = "http://schemas.microsoft.com/wbem/wsman/1/config"
SIGNAL_TERMINATE = SHELL + "signal/Terminate"
SIGNAL_CTRL_C = "powershell/signal/ctrl_c"
STATE_DONE = SHELL + "CommandState/Done"
STATE_RUNNING = SHELL + "CommandState/Running"
MAX_ENVELOPE_KB = 500  # Windows' default MaxEnvelopeSizekb (2012 R2 and later)

CODE_TIMEOUT = 2150858793
CODE_INVALID_SELECTORS = 2150858843
CODE_ACTION_NOT_SUPPORTED = 2150858771
# The session configuration's IdleTimeoutMs default (2 hours), the least idle timeout PowerShell accepts
# (60 s) and MaxIdleTimeoutMs ([int]::MaxValue ms): docs/rras.md#idle-shells.
DEFAULT_IDLE_SECONDS = 7200.0
MIN_IDLE_SECONDS = 60.0
MAX_IDLE_SECONDS = 2147483.647
TIMEOUT_MESSAGE = (
    "The WS-Management service cannot complete the operation within the time specified in OperationTimeout."
)


class WSManFault(Exception):
    def __init__(self, code: int, subcode: str, message: str, sender: bool = True) -> None:
        super().__init__(message)
        self.code, self.subcode, self.message, self.sender = code, subcode, message, sender


def _invalid_shell(shell_id: str) -> WSManFault:
    return WSManFault(
        CODE_INVALID_SELECTORS,
        "w:InvalidSelectors",
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
        "found "
        "on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
        "exists on "
        "the server. Provide the correct ShellId or create a new shell and retry the operation.",
    )


@dataclass
class Pipe:
    """One PSRP pipeline (a WSMan command) of a shell."""

    id: uuid.UUID
    wire_id: str
    server: psrpcore.ServerPipeline
    started: bool = False
    finished: bool = False
    stopped: bool = False
    terminated: bool = False
    input: list[Any] = field(default_factory=list)
    cmdlets: list[str] = field(default_factory=list)


class TwinClock:
    """The twin's idea of elapsed time for idle timeouts: the monotonic clock plus what tests advanced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0

    def now(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only goes forward")
        with self._lock:
            self._offset += float(seconds)


class Shell:
    """A WSMan shell = a PSRP runspace pool, with its outgoing queues."""

    def __init__(
        self,
        shell_id: str,
        owner: str,
        client_ip: str,
        max_envelope: int,
        idle_timeout: float = DEFAULT_IDLE_SECONDS,
        now: float = 0.0,
    ) -> None:
        self.id = shell_id
        self.owner = owner
        self.client_ip = client_ip
        self.created = time.time()
        self.idle_timeout = idle_timeout
        self.started_at = now
        self.last_activity = now
        self.in_flight = 0  # requests on this shell being answered (a long-polling Receive)
        self.cond = threading.Condition(threading.RLock())
        self.pool = psrpcore.ServerRunspacePool()
        self.queues: dict[uuid.UUID | None, list[bytes]] = {None: []}
        self.pipes: dict[uuid.UUID, Pipe] = {}
        # Fragment size so that one fragment in base64 plus the SOAP envelope fits MaxEnvelopeSize.
        self.fragment_size = max(1024, (max_envelope - 4096) * 3 // 4)
        self.closed = False
        #: the session configuration it was created for: None is Microsoft.PowerShell, else a JEA one
        self.configuration: jea.SessionConfiguration | None = None
        self.resource_uri = PS_RESOURCE

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def idle_expired(self, now: float) -> bool:
        with self.cond:
            return not self.in_flight and now - self.last_activity >= self.idle_timeout

    def pump(self) -> None:
        """Move whatever psrpcore has to send into the per-pipeline queues (caller holds ``cond``)."""
        while True:
            payload = self.pool.data_to_send(self.fragment_size)
            if payload is None:
                break
            self.queues.setdefault(payload.pipeline_id, []).append(payload.data)
        self.cond.notify_all()


class _Host:
    """The PipelineHost a running pipeline writes to (psrpcore under the shell's lock)."""

    def __init__(self, shell: Shell, pipe: Pipe) -> None:
        self.shell, self.pipe = shell, pipe
        self.jea = shell.configuration  # emulators/winrm/cmdlets/__init__.py run_statement

    @property
    def stopped(self) -> bool:
        return self.pipe.stopped or self.pipe.terminated or self.shell.closed

    def _do(self, fn: Callable[[], None]) -> None:
        with self.shell.cond:
            if self.stopped or self.pipe.server.state != PSInvocationState.Running:
                return
            fn()
            self.shell.pump()

    def write_output(self, value: Any) -> None:
        self._do(lambda: self.pipe.server.write_output(value))

    def write_error(self, record: ErrorRecord) -> None:
        def _write() -> None:
            self.pipe.server.prepare_message(record, message_type=psrpcore.types.PSRPMessageType.ErrorRecord)

        self._do(_write)

    def write_warning(self, message: str) -> None:
        self._do(lambda: self.pipe.server.write_warning(message))


def _text(node: Any, path: str) -> str | None:
    found = node.find(path, NS) if node is not None else None
    return found.text if found is not None and found.text is not None else None


def _duration(seconds: float) -> str:
    """9296.5 -> ``P0DT2H34M56.500S`` (xs:duration, as Windows writes ShellRunTime/ShellInactivity)."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = seconds - whole
    tail = f"{secs + fraction:.3f}".rstrip("0").rstrip(".") if fraction else str(secs)
    return f"P{days}DT{hours}H{minutes}M{tail}S"


def _seconds(duration: str | None, default: float) -> float:
    """``PT20.000S`` -> 20.0"""
    if not duration:
        return default
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", duration.strip())
    if not match:
        return default
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


class WinRMApp:
    """One node's WSMan service: SOAP in, SOAP out (``handle``); ``WinRMListener`` serves it over HTTP."""

    def __init__(
        self,
        backend: RrasBackend,
        max_wait: float = 60.0,
        idle_timeout: float = DEFAULT_IDLE_SECONDS,
        clock: TwinClock | None = None,
    ) -> None:
        if not MIN_IDLE_SECONDS <= idle_timeout <= MAX_IDLE_SECONDS:
            raise ValueError(f"idle_timeout must be {MIN_IDLE_SECONDS:.0f} to {MAX_IDLE_SECONDS} seconds")
        self.backend = backend
        self.max_wait = max_wait
        self.idle_timeout = float(idle_timeout)
        self.clock = clock or TwinClock()
        self._listener: Any = None

    # -- idle shells ----------------------------------------------------------------------------------------
    def expire_idle_shells(self) -> list[str]:
        """Delete the shells whose client has been silent for their idle timeout; their ids."""
        now = self.clock.now()
        with self.backend.lock:
            expired = [s for s in self.backend.shells.values() if s.idle_expired(now)]
            for shell in expired:
                self.backend.shells.pop(shell.id.upper(), None)
        for shell in expired:
            shell.close()
        return [s.id for s in expired]

    def _granted_idle(self, requested: str | None) -> float:
        """The idle timeout a Create gets: what the client asked for, within Windows' bounds."""
        if not requested:
            return self.idle_timeout
        return min(max(_seconds(requested, self.idle_timeout), MIN_IDLE_SECONDS), MAX_IDLE_SECONDS)

    # -- one SOAP request (the listener did the HTTP part: routing, authentication, encryption) ------------
    def handle(self, environ: dict[str, Any], user: str, body: bytes) -> tuple[str, bytes]:
        """The HTTP status and SOAP envelope answering ``body`` (an empty body: 200 and nothing)."""
        log = environ.setdefault("twin.log", {})
        log.setdefault("write", False)
        if not body:
            return "200 OK", b""
        try:
            envelope = SafeET.fromstring(body)
        except Exception:  # noqa: BLE001 - any malformed or hostile XML
            return "400 Bad Request", b""
        header = envelope.find("s:Header", NS)
        action = _text(header, "a:Action") or ""
        message_id = _text(header, "a:MessageID") or ""
        log["wsman"] = action.rsplit("/", 1)[-1]
        expired = self.expire_idle_shells()
        if expired:
            log["idle_closed"] = expired
        try:
            response_action, payload = self._dispatch(
                environ, user, action, header, envelope.find("s:Body", NS)
            )
        except WSManFault as fault:
            log["fault"] = fault.code
            return "500 Internal Server Error", self._fault_xml(fault, message_id)
        return "200 OK", self._envelope(response_action, message_id, payload)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Served alone: ``POST /wsman`` behind a listener with the default policy."""
        if self._listener is None:
            from emulators.winrm.listener import WinRMListener

            self._listener = WinRMListener([self])
        return self._listener(environ, start_response)

    # -- SOAP framing ---------------------------------------------------------------------------------------
    def _envelope(self, action: str, relates_to: str, body: str) -> bytes:
        ns = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k not in ("pwsh", "cfg", "f"))
        xml = (
            f'<s:Envelope xml:lang="en-US" {ns}><s:Header>'
            f"<a:Action>{escape(action)}</a:Action>"
            f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
            f"<a:To>{ANONYMOUS}</a:To>"
            f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
            f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
        )
        return xml.encode("utf-8")

    def _fault_xml(self, fault: WSManFault, relates_to: str) -> bytes:
        code = "s:Sender" if fault.sender else "s:Receiver"
        body = (
            f"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{fault.subcode}</s:Value>"
            "</s:Subcode>"
            f'</s:Code><s:Reason><s:Text xml:lang="en-US">{escape(fault.message)}</s:Text></s:Reason>'
            f'<s:Detail><f:WSManFault xmlns:f="{NS["f"]}" Code="{fault.code}" '
            f"Machine={quoteattr(self.backend.hostname)}>"
            f"<f:Message>{escape(fault.message)}</f:Message></f:WSManFault></s:Detail></s:Fault>"
        )
        return self._envelope(FAULT_ACTION, relates_to, body)

    # -- dispatch -------------------------------------------------------------------------------------------
    def _dispatch(
        self, environ: dict[str, Any], user: str, action: str, header: Any, body: Any
    ) -> tuple[str, str]:
        resource = _text(header, "w:ResourceURI") or ""
        selectors = {}
        selector_set = header.find("w:SelectorSet", NS) if header is not None else None
        if selector_set is not None:
            for selector in selector_set:
                selectors[selector.attrib.get("Name", "")] = selector.text or ""
        if action == TRANSFER + "Create":
            return action + "Response", self._create(environ, user, header, body)
        if action == TRANSFER + "Get" and resource == CONFIG_RESOURCE:
            return action + "Response", (
                f'<cfg:Config xmlns:cfg="{NS["cfg"]}"><cfg:MaxEnvelopeSizekb>'
                f"{MAX_ENVELOPE_KB}</cfg:MaxEnvelopeSizekb>"
                "<cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms><cfg:MaxBatchItems>32000</cfg:MaxBatchItems>"
                "</cfg:Config>"
            )
        shell_id = selectors.get("ShellId", "")
        environ["twin.log"]["shell"] = shell_id
        shell = self._shell(shell_id)
        with shell.cond:
            shell.in_flight += 1
            shell.last_activity = self.clock.now()
        try:
            return self._on_shell(environ, action, header, body, shell)
        finally:
            with shell.cond:
                shell.in_flight -= 1
                shell.last_activity = self.clock.now()

    def _on_shell(
        self, environ: dict[str, Any], action: str, header: Any, body: Any, shell: Shell
    ) -> tuple[str, str]:
        if action == TRANSFER + "Get":
            return action + "Response", self._shell_xml(shell)
        if action == TRANSFER + "Delete":
            shell.close()
            with self.backend.lock:
                self.backend.shells.pop(shell.id.upper(), None)
            return action + "Response", ""
        if action == SHELL + "Command":
            return action + "Response", self._command(environ, shell, body)
        if action == SHELL + "Send":
            return action + "Response", self._send(environ, shell, body)
        if action == SHELL + "Receive":
            timeout = min(_seconds(_text(header, "w:OperationTimeout"), 20.0), self.max_wait)
            return action + "Response", self._receive(shell, body, timeout)
        if action == SHELL + "Signal":
            return action + "Response", self._signal(shell, body)
        raise WSManFault(
            CODE_ACTION_NOT_SUPPORTED,
            "a:ActionNotSupported",
            f"The WS-Management service does not support the specified action {action}.",
        )

    def _shell(self, shell_id: str) -> Shell:
        with self.backend.lock:
            shell = self.backend.shells.get(shell_id.upper())
        if shell is None or shell.closed:
            raise _invalid_shell(shell_id)
        assert isinstance(shell, Shell)
        return shell

    def _shell_xml(self, shell: Shell) -> str:
        now = self.clock.now()
        return (
            f'<rsp:Shell xmlns:rsp="{NS["rsp"]}"><rsp:ShellId>{shell.id}</rsp:ShellId><rsp:Name>'
            "WinRM1</rsp:Name>"
            f"<rsp:ResourceUri>{escape(shell.resource_uri)}</rsp:ResourceUri>"
            f"<rsp:Owner>{escape(shell.owner)}</rsp:Owner>"
            f"<rsp:ClientIP>{escape(shell.client_ip)}</rsp:ClientIP><rsp:ProcessId>4242</rsp:ProcessId>"
            f"<rsp:IdleTimeOut>PT{shell.idle_timeout:.3f}S</rsp:IdleTimeOut>"
            "<rsp:InputStreams>stdin pr</rsp:InputStreams>"
            "<rsp:OutputStreams>stdout</rsp:OutputStreams>"
            f"<rsp:MaxIdleTimeOut>PT{MAX_IDLE_SECONDS:.3f}S</rsp:MaxIdleTimeOut>"
            "<rsp:Locale>en-US</rsp:Locale><rsp:DataLocale>en-US</rsp:DataLocale>"
            "<rsp:CompressionMode>XpressCompression</rsp:CompressionMode><rsp:ProfileLoaded>"
            "Yes</rsp:ProfileLoaded>"
            "<rsp:Encoding>UTF8</rsp:Encoding><rsp:BufferMode>Block</rsp:BufferMode><rsp:State>"
            "Connected</rsp:State>"
            f"<rsp:ShellRunTime>{_duration(max(0.0, now - shell.started_at))}</rsp:ShellRunTime>"
            f"<rsp:ShellInactivity>{_duration(max(0.0, now - shell.last_activity))}</rsp:ShellInactivity>"
            "</rsp:Shell>"
        )

    def _create(self, environ: dict[str, Any], user: str, header: Any, body: Any) -> str:
        shell_el = body.find("rsp:Shell", NS) if body is not None else None
        if shell_el is None:
            raise WSManFault(
                2150858817, "w:InvalidParameter", "The WS-Management service cannot process the request."
            )
        resource = _text(header, "w:ResourceURI") or ""
        # Microsoft.PowerShell, or a JEA session configuration the node serves (emulators/winrm/jea.py)
        known, configuration = jea.resolve(self.backend, resource)
        if not known:
            raise WSManFault(
                2150858770,
                "w:DestinationUnreachable",
                "The WS-Management service cannot process the request. Cannot find the "
                f"{resource.rsplit('/', 1)[-1]}"
                " session configuration in the WSMan: drive on the computer.",
            )
        if configuration is not None and not configuration.admits_user(user):
            raise WSManFault(5, "w:AccessDenied", "Access is denied.")  # [unconfirmed] fault shape
        shell_id = (shell_el.attrib.get("ShellId") or str(uuid.uuid4())).upper()
        max_env = int(_text(header, "w:MaxEnvelopeSize") or 153600)
        owner = f"{self.backend.hostname}\\{user}"
        idle = self._granted_idle(_text(shell_el, "rsp:IdleTimeOut"))
        log = environ["twin.log"]
        log.update(shell=shell_id, idle_timeout=idle, configuration=resource.rsplit("/", 1)[-1])
        shell = Shell(shell_id, owner, str(environ.get("REMOTE_ADDR", "")), max_env, idle, self.clock.now())
        shell.configuration, shell.resource_uri = configuration, resource if configuration else PS_RESOURCE
        creation = _text(shell_el, "pwsh:creationXml")
        with self.backend.lock:
            self.backend.shells[shell_id] = shell
        if creation:
            self._feed(environ, shell, base64.b64decode(creation), None)
        scheme = environ.get("wsgi.url_scheme", "https")
        address = f"{scheme}://{environ.get('HTTP_HOST', 'localhost')}{environ.get('PATH_INFO') or '/wsman'}"
        return (
            f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{escape(shell.resource_uri)}</w:ResourceURI><w:SelectorSet>"
            f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            f"</x:ResourceCreated>{self._shell_xml(shell)}"
        )

    def _command(self, environ: dict[str, Any], shell: Shell, body: Any) -> str:
        line = body.find("rsp:CommandLine", NS) if body is not None else None
        if line is None:
            raise WSManFault(
                2150858817, "w:InvalidParameter", "The WS-Management service cannot process the request."
            )
        wire_id = (line.attrib.get("CommandId") or str(uuid.uuid4())).upper()
        pipeline_id = uuid.UUID(wire_id)
        with shell.cond:
            server = psrpcore.ServerPipeline(shell.pool, pipeline_id)
            shell.pipes[pipeline_id] = Pipe(pipeline_id, wire_id, server)
            shell.queues.setdefault(pipeline_id, [])
        arguments = _text(line, "rsp:Arguments")
        if arguments:
            self._feed(environ, shell, base64.b64decode(arguments), pipeline_id)
        return f"<rsp:CommandResponse><rsp:CommandId>{wire_id}</rsp:CommandId></rsp:CommandResponse>"

    def _send(self, environ: dict[str, Any], shell: Shell, body: Any) -> str:
        send = body.find("rsp:Send", NS) if body is not None else None
        for stream in send.findall("rsp:Stream", NS) if send is not None else []:
            command_id = stream.attrib.get("CommandId")
            pipeline_id = uuid.UUID(command_id) if command_id else None
            if pipeline_id is not None and pipeline_id not in shell.pipes:
                raise _invalid_shell(shell.id)
            if stream.text:
                kind = (
                    psrpcore.StreamType.prompt_response
                    if stream.attrib.get("Name") == "pr"
                    else psrpcore.StreamType.default
                )
                self._feed(environ, shell, base64.b64decode(stream.text), pipeline_id, kind)
        return "<rsp:SendResponse/>"

    def _feed(
        self,
        environ: dict[str, Any],
        shell: Shell,
        data: bytes,
        pipeline_id: uuid.UUID | None,
        kind: psrpcore.StreamType = psrpcore.StreamType.default,
    ) -> None:
        to_start: list[Pipe] = []
        with shell.cond:
            shell.pool.receive_data(psrpcore.PSRPPayload(data, kind, pipeline_id))
            while True:
                try:
                    event = shell.pool.next_event()
                except Exception as exc:  # noqa: BLE001 - a message PowerShell cannot deserialize
                    # e.g. <I32>4294967295</I32>: pypsrp 0.9 sends every Python int as I32. Windows' exact
                    # reaction is [unverified]; the twin refuses the request with a WSMan fault and forgets
                    # the pipeline (the runspace pool stays usable).
                    if pipeline_id is not None:
                        shell.pipes.pop(pipeline_id, None)
                        shell.queues.pop(pipeline_id, None)
                    shell.pool._receive_buffer = bytearray()
                    environ["twin.log"]["psrp_error"] = str(exc)[:200]
                    raise WSManFault(
                        2150858817,
                        "w:InvalidParameter",
                        "The WS-Management service cannot process the request. The PSRP message could not "
                        "be "
                        f"deserialized: {exc}",
                        sender=True,
                    ) from None
                if event is None:
                    break
                pipe = shell.pipes.get(event.pipeline_id) if event.pipeline_id else None
                if isinstance(event, psrpcore.CreatePipelineEvent) and pipe is not None:
                    pipe.cmdlets = [canonical_name(str(c.command_text)) for c in event.pipeline.commands]
                    log = environ["twin.log"]
                    log["cmdlet"] = "; ".join(pipe.cmdlets)
                    log["write"] = any(is_write_command(c) for c in pipe.cmdlets)
                    if event.pipeline.no_input:
                        to_start.append(pipe)
                elif isinstance(event, psrpcore.PipelineInputEvent) and pipe is not None:
                    pipe.input.append(event.data)
                elif isinstance(event, psrpcore.EndOfPipelineInputEvent) and pipe is not None:
                    to_start.append(pipe)
            shell.pump()
        for pipe in to_start:
            if not pipe.started:
                pipe.started = True
                threading.Thread(
                    target=self._run, args=(shell, pipe), name=f"psrp-{pipe.wire_id}", daemon=True
                ).start()

    def _run(self, shell: Shell, pipe: Pipe) -> None:
        host = _Host(shell, pipe)
        with shell.cond:
            pipe.server.start()
            shell.pump()
            metadata = pipe.server.metadata
            commands = list(getattr(metadata, "commands", None) or [])
        failure: ErrorRecord | None = None
        try:
            run_pipeline(self.backend, host, commands, pipe.input)
        except Terminating as exc:
            failure = exc.record
        except Exception as exc:  # noqa: BLE001 - a twin bug must still end the pipeline
            from emulators.winrm.cmdlets import error_record

            failure = error_record(
                f"twin internal error: {exc!r}",
                "TwinInternalError",
                psrpcore.types.ErrorCategory.NotSpecified,
                "RuntimeException",
            )
        with shell.cond:
            if pipe.server.state == PSInvocationState.Running and not shell.closed:
                if failure is not None:
                    pipe.server._change_state(
                        PSInvocationState.Failed, error=failure
                    )  # no public "fail" (docs/rras.md#psrpcore-server-side)
                else:
                    pipe.server.complete()
            pipe.finished = True
            shell.pump()

    def _receive(self, shell: Shell, body: Any, timeout: float) -> str:
        desired = body.find("rsp:Receive/rsp:DesiredStream", NS) if body is not None else None
        command_id = desired.attrib.get("CommandId") if desired is not None else None
        pipeline_id = uuid.UUID(command_id) if command_id else None
        deadline = time.monotonic() + timeout
        with shell.cond:
            pipe = shell.pipes.get(pipeline_id) if pipeline_id else None
            if pipeline_id is not None and pipe is None:
                raise _invalid_shell(shell.id)
            while True:
                queue = shell.queues.setdefault(pipeline_id, [])
                done = pipe is not None and (pipe.finished or pipe.stopped) and not queue
                if queue or done or shell.closed:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WSManFault(CODE_TIMEOUT, "w:TimedOut", TIMEOUT_MESSAGE, sender=False)
                shell.cond.wait(remaining)
            if shell.closed:
                raise _invalid_shell(shell.id)
            budget = shell.fragment_size
            chunks: list[bytes] = []
            while queue and (not chunks or sum(len(c) for c in chunks) + len(queue[0]) <= budget):
                chunks.append(queue.pop(0))
            finished = pipe is not None and (pipe.finished or pipe.stopped) and not queue
        attr = f' CommandId="{pipe.wire_id}"' if pipe is not None else ""
        streams = "".join(
            f'<rsp:Stream Name="stdout"{attr}>{base64.b64encode(c).decode()}</rsp:Stream>' for c in chunks
        )
        state = ""
        if pipe is not None:
            if finished:
                state = (
                    f'<rsp:CommandState CommandId="{pipe.wire_id}" State="{STATE_DONE}">'
                    "<rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>"
                )
            else:
                state = f'<rsp:CommandState CommandId="{pipe.wire_id}" State="{STATE_RUNNING}"/>'
        return f"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>"

    def _signal(self, shell: Shell, body: Any) -> str:
        signal = body.find("rsp:Signal", NS) if body is not None else None
        code = _text(signal, "rsp:Code") or ""
        command_id = signal.attrib.get("CommandId") if signal is not None else None
        pipeline_id = uuid.UUID(command_id) if command_id else None
        with shell.cond:
            pipe = shell.pipes.get(pipeline_id) if pipeline_id else None
            if pipe is not None:
                if code == SIGNAL_CTRL_C and pipe.server.state == PSInvocationState.Running:
                    pipe.server.stop()
                    pipe.stopped = True
                    shell.pump()
                elif code == SIGNAL_TERMINATE:
                    pipe.terminated = True
                    shell.pipes.pop(pipe.id, None)
                    shell.queues.pop(pipe.id, None)
                    shell.cond.notify_all()
        return "<rsp:SignalResponse/>"
