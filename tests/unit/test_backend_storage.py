"""The helpers of the shared-state backend tests (tests/backends/storage.py) that need no server: Azurite's
start-up line, the backend URLs the CLI is given, the made-up account key and the processes of a session."""

from __future__ import annotations

import base64
import os
import subprocess
from urllib.parse import parse_qs, urlsplit

from tests.backends.storage import azblob_url, listening_port, new_account_key, s3_url, session_members


def test_the_port_is_read_from_azurites_start_up_output_once_it_listens() -> None:
    starting = "Azurite Blob service is starting on 127.0.0.1:0\n"
    listening = "Azurite Blob service successfully listens on https://127.0.0.1:41999\n"
    assert listening_port(starting) is None
    assert listening_port(starting + listening) == 41999
    # plain HTTP is never taken for the HTTPS service the tests asked for
    assert listening_port(listening.replace("https://", "http://")) is None


def test_the_azblob_url_names_the_container_and_points_at_the_emulator_over_https() -> None:
    url = urlsplit(azblob_url("pulumi-state", 41999))
    assert (url.scheme, url.netloc, url.path) == ("azblob", "pulumi-state", "")
    # only parameters gocloud.dev's azureblob URL opener knows (any other is refused as unknown)
    assert parse_qs(url.query) == {"domain": ["127.0.0.1:41999"], "protocol": ["https"], "localemu": ["true"]}


def test_the_s3_url_names_the_bucket_region_and_https_endpoint() -> None:
    url = urlsplit(s3_url("pulumi-state", "https://127.0.0.1:41999", "eu-west-1"))
    assert (url.scheme, url.netloc) == ("s3", "pulumi-state")
    assert parse_qs(url.query) == {
        "region": ["eu-west-1"],
        "endpoint": ["https://127.0.0.1:41999"],
        "use_path_style": ["true"],
        "awssdk": ["v2"],
    }


def test_each_made_up_account_key_is_64_random_bytes_in_base64() -> None:
    first, second = new_account_key(), new_account_key()
    assert len(base64.b64decode(first, validate=True)) == 64
    assert first != second


def test_the_members_of_a_session_are_found_leader_first() -> None:
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert session_members(child.pid) == [child.pid]
        assert os.getpid() in session_members(os.getsid(0))
    finally:
        child.kill()
        child.wait()
