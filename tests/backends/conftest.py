"""Fixtures of the shared-state backend tests, per test module: Azurite's blob service (skipped, with the
reason, only when npm is missing) or moto's S3 server, a container or bucket in it for the module's state, a
copy of the product logged in to it, and an F5 twin for the stacks to configure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.common import TLSMaterial, start_twin
from tests.backends.storage import (
    Azurite,
    AzuriteUnavailable,
    MotoS3,
    SharedStateProject,
    start_azurite,
    start_moto_s3,
)
from tests.e2e.devices import F5
from tests.e2e.project import copy_product

#: The container (Azure) or bucket (S3) holding the module's Pulumi state.
CONTAINER = "pulumi-state"


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory, tls: TLSMaterial) -> Iterator[Azurite]:
    """Azurite's blob service on a free loopback port, HTTPS from the tests' CA, data in a temporary folder,
    with the state container created through Microsoft's Blob Storage client."""
    try:
        server = start_azurite(tmp_path_factory.mktemp("azurite"), tls)
    except AzuriteUnavailable as exc:
        pytest.skip(str(exc))
    try:
        server.create_container(CONTAINER)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory: pytest.TempPathFactory, tls: TLSMaterial) -> Iterator[MotoS3]:
    """moto's S3 server on a free loopback port, HTTPS from the tests' CA, with the state bucket created
    through boto3."""
    server = start_moto_s3(tmp_path_factory.mktemp("moto"), tls)
    try:
        server.create_bucket(CONTAINER)
        yield server
    finally:
        server.stop()


def _logged_in(tmp_path_factory: pytest.TempPathFactory, url: str, env: dict[str, str]) -> SharedStateProject:
    copy = copy_product(tmp_path_factory.mktemp("project"))
    project = SharedStateProject(copy.path, url, env)
    login = project.login()
    assert login.exit_code == 0, login.output
    assert "Logged in to " in login.output and url in login.output, login.output
    return project


@pytest.fixture(scope="module")
def azblob_project(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> SharedStateProject:
    """A copy of the product, logged in to the state container (``pulumi login azblob://...``)."""
    return _logged_in(tmp_path_factory, azurite.backend_url(CONTAINER), azurite.cli_env())


@pytest.fixture(scope="module")
def s3_project(tmp_path_factory: pytest.TempPathFactory, moto_s3: MotoS3) -> SharedStateProject:
    """A copy of the product, logged in to the state bucket (``pulumi login s3://...``)."""
    return _logged_in(tmp_path_factory, moto_s3.backend_url(CONTAINER), moto_s3.cli_env())


@pytest.fixture(scope="module")
def f5(tls: TLSMaterial) -> Iterator[F5]:
    """An F5 BIG-IP twin for the module."""
    twin = start_twin("f5", tls=tls)
    try:
        yield F5(twin)
    finally:
        twin.stop()
