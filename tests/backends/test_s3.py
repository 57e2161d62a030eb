"""Team state in S3: the real Pulumi CLI with its ``s3://`` backend against moto's S3 server over HTTPS,
configuring the F5 twin: ``up``, the drift check and ``destroy`` with the state only in the bucket. The lock
is the same code for every DIY backend (pkg/backend/diy/lock.go) and is tested on Azure Blob Storage
(test_azblob.py); here it is checked to be released after each run.

Facts: docs/pulumi-engine.md#shared-state-backends.
"""

from __future__ import annotations

import pytest

from tests.backends.cases import up_drift_check_and_destroy
from tests.backends.conftest import CONTAINER
from tests.backends.storage import MotoS3, SharedStateProject
from tests.e2e.devices import F5

pytestmark = pytest.mark.e2e


def test_up_drift_check_and_destroy_keep_the_state_in_the_bucket(
    s3_project: SharedStateProject, moto_s3: MotoS3, f5: F5
) -> None:
    up_drift_check_and_destroy(
        s3_project,
        f5,
        "s3flow",
        keys=lambda prefix: moto_s3.keys(CONTAINER, prefix),
        read=lambda key: moto_s3.read(CONTAINER, key),
    )


def test_the_cli_verifies_the_s3_servers_certificate(s3_project: SharedStateProject) -> None:
    """Without the CA bundle, the CLI refuses the endpoint's certificate: TLS is on."""
    env = s3_project.env()
    del env["AWS_CA_BUNDLE"]
    refused = s3_project.cli("login", s3_project.backend_url, env=env)
    assert refused.exit_code != 0
    assert "x509: certificate signed by unknown authority" in refused.output, refused.output
