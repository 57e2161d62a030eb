"""The dynamic provider host, ``python -u -m pulumi.dynamic``, launched and driven as the engine does.

Launch (the CLI's bundled ``pulumi-resource-pulumi-python`` script): the project venv's python, cwd = the
project directory, the CLI's environment plus ``PULUMI_PROJECT``, ``PULUMI_CONFIG`` (the ``pulumi-python``
namespace only, so ``{}``), and ``PULUMI_RUNTIME_<OPTION>`` per ``runtime.options`` entry; argv carries the
engine address, which the host ignores. The port is the first stdout line; later stdout/stderr lines are
kept as diagnostics.

Shutdown follows sdk/go/common/resource/plugin/plugin.go (``Plugin.Close`` -> ``kill``): the plugin runs in
its own process group (``cmdutil.RegisterProcessGroup``); the engine sends SIGINT to the group
(``cmdutil.InterruptChildren``), waits up to 5 seconds for the process to exit, then SIGKILLs the group and
the process. The Python host catches KeyboardInterrupt, stops its gRPC server and returns from main, so
``atexit`` hooks in provider code run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import grpc
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from .values import Props, to_struct

GRACE_SECONDS = 5.0


class HostError(Exception):
    pass


class ProviderHost:
    def __init__(
        self,
        python: str,
        cwd: str,
        env: dict[str, str],
        engine_address: str,
        on_log: Callable[[str, str], None],
    ) -> None:
        self.python = python
        self.cwd = cwd
        self.env = env
        self.engine_address = engine_address
        self.on_log = on_log
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self.stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self.configured = False
        self._lock = threading.Lock()
        self._pumps: list[threading.Thread] = []
        self.start_error: str | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.python, "-u", "-m", "pulumi.dynamic", self.engine_address],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        err_pump = threading.Thread(target=self._pump, args=(self.proc.stderr, "stderr"), daemon=True)
        err_pump.start()
        self._pumps.append(err_pump)
        first = self.proc.stdout.readline().decode().strip()
        try:
            port = int(first)
            if not 1 <= port <= 65535:
                raise ValueError(first)
        except ValueError:
            code = self.proc.wait()
            raise HostError(
                f"could not read plugin [pulumi-resource-pulumi-python] stdout: {first!r} "
                f"(exit status {code})"
            ) from None
        out_pump = threading.Thread(target=self._pump, args=(self.proc.stdout, "stdout"), daemon=True)
        out_pump.start()
        self._pumps.append(out_pump)
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{port}",
            options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)],
        )
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        # Handshake first (the Python host answers UNIMPLEMENTED: legacy Configure protocol), then info.
        try:
            self.stub.Handshake(
                provider_pb2.ProviderHandshakeRequest(
                    engine_address=self.engine_address,
                    root_directory=self.cwd,
                    program_directory=self.cwd,
                    configure_with_urn=True,
                )
            )
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        self.stub.GetPluginInfo(_empty())

    def _pump(self, stream: Any, name: str) -> None:
        for raw in iter(stream.readline, b""):
            self.on_log(name, raw.decode(errors="replace").rstrip("\n"))

    def configure(self, args: Props, urn: str, id_: str) -> provider_pb2.ConfigureResponse:
        assert self.stub is not None
        with self._lock:
            variables = {}
            for key, value in args.items():
                ns, _, name = key.partition(":")
                variables[f"{ns}:config:{name}"] = (
                    value if isinstance(value, str) else str(value.get("value"))
                )
            resp = self.stub.Configure(
                provider_pb2.ConfigureRequest(
                    variables=variables,
                    args=to_struct(args),
                    acceptSecrets=True,
                    acceptResources=True,
                    sends_old_inputs=True,
                    sends_old_inputs_to_delete=True,
                    id=id_,
                    urn=urn,
                    name="default",
                    type=urn.split("::")[2],
                )
            )
            self.configured = True
            return resp

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.kill()
                proc.wait()
        for pump in self._pumps:
            pump.join(timeout=2)


def _empty() -> Any:
    from google.protobuf import empty_pb2

    return empty_pb2.Empty()


__all__ = ["GRACE_SECONDS", "HostError", "ProviderHost", "plugin_pb2"]
