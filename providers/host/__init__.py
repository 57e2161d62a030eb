"""The dynamic-provider host this project runs its providers in: the Pulumi SDK's own, with room for every
call the engine sends at once.

Every resource of this project is a dynamic resource, served by the SDK's ``pulumi-resource-pulumi-python``
plugin (``python -m pulumi.dynamic``). The SDK builds that host's gRPC server on a pool of 4 threads, so at
most 4 Create, Read, Update or Delete calls run at once and the rest wait for a thread, while the engine
sends as many as its ``--parallel`` allows (4 per CPU by default, ``PULUMI_PARALLEL`` or ``-p`` to change).
A cluster has 6 to 12 independent objects per level of its dependency graph, so with 4 threads a create
costs two or three request round trips per level instead of one (docs/pulumi-engine.md, "How many calls at
once").

``Pulumi.yaml`` points the engine at this folder for the ``pulumi-python`` plugin (project ``plugins:``
come before the CLI's bundled plugins), and ``pulumi-resource-pulumi-python`` here runs ``python -m
providers.host``: the SDK's host, unchanged, except that the thread pool it hands to ``grpc.server`` is
replaced by one of ``WORKERS`` threads. How many requests reach one device at once is then the engine's
``--parallel``, as it is for any other provider.
"""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc

#: Threads serving engine calls: above any ``--parallel`` a pipeline is likely to use; a call holds one for
#: as long as its device takes (an RRAS node's drained restart, minutes).
WORKERS = 64

_grpc_server = grpc.server


def wide_server(thread_pool: Any = None, *args: Any, **kwargs: Any) -> Any:
    """``grpc.server`` with ``WORKERS`` threads in place of the pool the SDK passes (which is shut down)."""
    if isinstance(thread_pool, futures.ThreadPoolExecutor):
        thread_pool.shutdown(wait=False)
    pool = futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="dynamic-provider")
    return _grpc_server(pool, *args, **kwargs)
