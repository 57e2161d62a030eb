"""A shared state backend for the end-to-end tests: Azurite's blob service on loopback over HTTPS, and a
copy of the product whose real Pulumi CLI keeps its state there (``pulumi login azblob://...``) instead of
in a local ``file://`` directory.

Azurite is Microsoft's Azure Storage emulator, from the npm registry at the version tests/backends/azurite/
locks (installed by that folder's install.sh). It serves HTTPS with a certificate from the tests' local CA,
and the CLI (Go) is made to trust that CA through ``SSL_CERT_FILE``; nothing turns verification off. The
storage account and its key are made up per run (``AZURITE_ACCOUNTS``), so Azurite's well-known development
account is disabled. For S3, moto's S3 server (PyPI, requirements-dev.txt) serves in a thread of the test
process, over HTTPS from the same CA, which the CLI's AWS SDK trusts through ``AWS_CA_BUNDLE``. How the CLI's
drivers are pointed at an emulator, with sources: docs/pulumi-engine.md#shared-state-backends.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
from azure.storage.blob import BlobServiceClient
from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from emulators.common import TLSMaterial
from tests.e2e.project import CliRun, Project
from tests.pulumi_cli import pulumi_bin

AZURITE_DIR = Path(__file__).resolve().parent / "azurite"
INSTALL = AZURITE_DIR / "install.sh"
AZURITE_BLOB = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
#: The storage account the tests make up (3 to 24 lower-case letters and digits, as Azure requires).
ACCOUNT = "aovpnstate"
#: Azurite's line once the blob service accepts connections (the port is the one the OS chose for port 0).
LISTENING = re.compile(r"Blob service successfully listens on https://127\.0\.0\.1:(\d+)")
#: Where the DIY backend keeps a stack's lock files: .pulumi/locks/<org>/<project>/<stack>/<uuid>.json, the
#: organization fixed to "organization" (pkg/backend/diy/lock.go and backend.go of pulumi/pulumi).
LOCKS = ".pulumi/locks/"


class AzuriteUnavailable(RuntimeError):
    """Azurite cannot be run here; the message says why (the backend tests skip with it)."""


def azurite_blob() -> Path:
    """The installed ``azurite-blob`` launcher, installed first when missing (install.sh is idempotent)."""
    if shutil.which("npm") is None:
        raise AzuriteUnavailable(
            "npm is not installed: Azurite (the Azure Storage emulator) comes from the npm registry; "
            "install Node.js 20 or newer with npm, then ./run setup dev"
        )
    proc = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0 or not AZURITE_BLOB.exists():
        raise RuntimeError(f"{INSTALL} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return AZURITE_BLOB


def listening_port(banner: str) -> int | None:
    """The port in Azurite's start-up output, None until it says the blob service listens."""
    found = LISTENING.search(banner)
    return int(found.group(1)) if found else None


def azblob_url(container: str, port: int) -> str:
    """The backend URL of ``container`` in an emulator on 127.0.0.1:``port``: gocloud.dev's azureblob
    driver builds ``https://127.0.0.1:<port>/<account>`` from ``domain`` (a domain starting with 127.0.0.1,
    or ``localemu=true``, puts the account in the path, as Azurite expects), the account name coming from
    AZURE_STORAGE_ACCOUNT."""
    return f"azblob://{container}?domain=127.0.0.1:{port}&protocol=https&localemu=true"


def new_account_key() -> str:
    """A made-up storage account key: 64 random bytes, base64 (the form Azure's keys and Azurite take)."""
    return base64.b64encode(secrets.token_bytes(64)).decode()


@dataclass
class Azurite:
    """A running Azurite blob service."""

    process: subprocess.Popen[bytes]
    port: int
    key: str
    ca_path: Path
    log_path: Path
    account: str = ACCOUNT

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}/{self.account}"

    def service(self) -> BlobServiceClient:
        """Microsoft's Blob Storage client on the account, trusting the tests' CA (never unverified)."""
        return BlobServiceClient(
            self.endpoint,
            credential={"account_name": self.account, "account_key": self.key},
            connection_verify=str(self.ca_path),
        )

    def create_container(self, name: str) -> None:
        self.service().create_container(name)

    def blobs(self, container: str, prefix: str = "") -> list[str]:
        """The names of the blobs in ``container`` under ``prefix``."""
        client = self.service().get_container_client(container)
        return sorted(b.name for b in client.list_blobs(name_starts_with=prefix or None))

    def read(self, container: str, name: str) -> bytes:
        data: bytes = self.service().get_blob_client(container, name).download_blob().readall()
        return data

    def backend_url(self, container: str) -> str:
        return azblob_url(container, self.port)

    def cli_env(self) -> dict[str, str]:
        """What the CLI needs to reach the account: its name and key (gocloud.dev reads both from the
        environment, never from the URL) and the CA that issued Azurite's certificate (Go's crypto/x509 reads
        SSL_CERT_FILE on Linux)."""
        return {
            "AZURE_STORAGE_ACCOUNT": self.account,
            "AZURE_STORAGE_KEY": self.key,
            "SSL_CERT_FILE": str(self.ca_path),
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


def start_azurite(workdir: Path, tls: TLSMaterial, wait_s: float = 120.0) -> Azurite:
    """Azurite's blob service on 127.0.0.1, a port the OS chooses, HTTPS with a certificate of the tests' CA,
    its data in ``workdir``; returns once it listens (or raises with its output)."""
    launcher = azurite_blob()
    workdir.mkdir(parents=True, exist_ok=True)
    leaf = tls.issue("127.0.0.1", "localhost")
    cert, key_file = workdir / "azurite-cert.pem", workdir / "azurite-key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key_file))
    key_file.chmod(0o600)
    account_key = new_account_key()
    env = dict(os.environ, AZURITE_ACCOUNTS=f"{ACCOUNT}:{account_key}")
    log_path = workdir / "azurite.log"
    cmd = [
        str(launcher),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--cert",
        str(cert),
        "--key",
        str(key_file),
        "--location",
        str(workdir / "data"),
        "--disableTelemetry",
        # The CLI's Azure SDK (azblob v1.8.0) sends x-ms-version 2026-06-06; Azurite 3.35.0, the newest
        # release that runs on Node.js 20, knows versions up to 2025-11-05 and refuses newer ones unless
        # told not to check.
        "--skipApiVersionCheck",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        port = listening_port(log_path.read_text(errors="replace"))
        if port is not None:
            return Azurite(process, port, account_key, tls.ca_path, log_path)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=20)
    raise RuntimeError(f"Azurite did not start (exit {process.returncode}):\n{log_path.read_text()}")


def s3_url(bucket: str, endpoint: str, region: str) -> str:
    """The backend URL of ``bucket`` on an S3-compatible server at ``endpoint``: gocloud.dev's s3blob driver
    (AWS SDK v2; ``awssdk=v2`` is accepted and ignored) with the bucket in the path, not in the host name."""
    return f"s3://{bucket}?region={region}&endpoint={endpoint}&use_path_style=true&awssdk=v2"


class _QuietMotoHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class MotoS3:
    """moto's S3 server, in a thread of this process."""

    server: BaseWSGIServer
    thread: threading.Thread
    ca_path: Path
    config_dir: Path
    region: str = "eu-west-1"
    #: made-up credentials: moto checks the signature's form, not the key
    access_key: str = field(default_factory=lambda: "AKIA" + secrets.token_hex(8).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.server.server_port}"

    def client(self) -> Any:
        """boto3's S3 client on the server, trusting the tests' CA."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            verify=str(self.ca_path),
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region}
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        found = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return sorted(str(o["Key"]) for o in found)

    def read(self, bucket: str, key: str) -> bytes:
        data: bytes = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return data

    def backend_url(self, bucket: str) -> str:
        return s3_url(bucket, self.endpoint, self.region)

    def cli_env(self) -> dict[str, str]:
        """The AWS SDK's own settings: credentials, the CA bundle for the endpoint, shared config files that
        do not exist (nothing of the machine's ~/.aws is read) and no instance metadata lookups."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_CA_BUNDLE": str(self.ca_path),
            "AWS_CONFIG_FILE": str(self.config_dir / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.config_dir / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_moto_s3(workdir: Path, tls: TLSMaterial) -> MotoS3:
    """moto's S3 server on 127.0.0.1, a port the OS chooses, HTTPS with the tests' server certificate."""
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1",
        0,
        app,
        threaded=True,
        request_handler=_QuietMotoHandler,
        ssl_context=tls.server_context(),
    )
    thread = threading.Thread(target=server.serve_forever, name="moto-s3", daemon=True)
    thread.start()
    workdir.mkdir(parents=True, exist_ok=True)
    return MotoS3(server, thread, tls.ca_path, workdir / "aws-config-unused")


def session_members(sid: int) -> list[int]:
    """The processes of session ``sid`` (Linux: the sixth field of /proc/<pid>/stat), its leader first."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[3]) == sid:
            members.append(int(stat.parent.name))
    return sorted(members, key=lambda pid: pid != sid)


@dataclass
class Spawned:
    """A CLI command running in the background (its output goes to files, so a full pipe never blocks it)."""

    args: list[str]
    process: subprocess.Popen[bytes]
    out: IO[bytes]
    err: IO[bytes]
    paths: tuple[Path, Path]

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the CLI and to every process it started: the CLI leads a session of its own, and its
        plugins (language host, dynamic-provider host), each in a process group of its own, stay in it."""
        for pid in session_members(self.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float = 600) -> CliRun:
        code = self.process.wait(timeout=timeout)
        self.out.close()
        self.err.close()
        out, err = (p.read_text(errors="replace") for p in self.paths)
        return CliRun(self.args, code, out, err)


class SharedStateProject(Project):
    """A copy of the product (tests/e2e/project.py) whose CLI keeps its state in a shared backend.

    The local ``file://`` backend the e2e harness sets through PULUMI_BACKEND_URL is taken away, so the CLI
    uses what ``login`` stored in this project's PULUMI_HOME, as on a pipeline agent after
    ``pulumi login``; ``backend_env`` is the environment that backend needs (account, key, CA).
    """

    def __init__(self, path: Path, backend_url: str, backend_env: dict[str, str]) -> None:
        super().__init__(path)
        self.backend_url = backend_url
        self.backend_env = dict(backend_env)

    def env(self) -> dict[str, str]:
        env = super().env()
        del env["PULUMI_BACKEND_URL"]
        env.update(self.backend_env)
        return env

    def cli(self, *args: str, env: dict[str, str] | None = None) -> CliRun:
        """``pulumi ARGS --non-interactive`` for commands that take no ``--stack`` (login, whoami)."""
        proc = subprocess.run(
            [pulumi_bin(), *args, "--non-interactive"],
            cwd=self.path,
            env=self.env() if env is None else env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return CliRun(list(args), proc.returncode, proc.stdout, proc.stderr)

    def login(self) -> CliRun:
        return self.cli("login", self.backend_url)

    def spawn(self, *args: str, stack: str) -> Spawned:
        """Start ``pulumi ARGS --stack STACK --non-interactive`` and return at once."""
        n = len(list(self.path.glob("spawned-*.out")))
        paths = (self.path / f"spawned-{n}.out", self.path / f"spawned-{n}.err")
        out, err = paths[0].open("wb"), paths[1].open("wb")
        process = subprocess.Popen(
            [pulumi_bin(), *args, "--stack", stack, "--non-interactive"],
            cwd=self.path,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # a session of its own: ``kill`` ends the CLI with its plugins
        )
        return Spawned(list(args), process, out, err, paths)

    def checkpoint(self, stack: str) -> dict[str, Any]:
        """The stack's latest deployment, read through the CLI (``stack export``), in the shape of the local
        backend's checkpoint file that Project.checkpoint returns."""
        exported = self.pulumi("stack", "export", stack=stack, check=True).json()
        return {"checkpoint": {"latest": exported["deployment"]}}

    def local_state_files(self) -> list[Path]:
        """Every file of a Pulumi state layout (``.pulumi/``) or of the harness' local backend (``.state/``)
        in the project directory (not following the venv link): none if the state is in a shared backend."""
        found: list[Path] = []
        for root, dirs, files in os.walk(self.path):
            dirs[:] = [d for d in dirs if d not in ("venv", "__pycache__")]
            parts = Path(root).relative_to(self.path).parts
            if ".pulumi" in parts or ".state" in parts:
                found += [Path(root) / f for f in files]
        return found
