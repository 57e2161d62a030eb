"""What every twin shares: TLS material, the admin interface and the threaded HTTPS server."""

from emulators.common.backend import TwinBackend
from emulators.common.server import RunningTwin, TwinAdminClient, start_twin
from emulators.common.tls import TLSMaterial, ensure_tls
from emulators.common.wsgi import TwinApp

__all__ = [
    "RunningTwin",
    "TLSMaterial",
    "TwinAdminClient",
    "TwinApp",
    "TwinBackend",
    "ensure_tls",
    "start_twin",
]
