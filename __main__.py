"""The aovpn-iac Pulumi program: every cluster declared under ``aovpn:clusters`` in the stack config.

The declaration is validated first; a bad one fails ``preview``/``up`` with a message naming the
cluster and field, before any appliance is contacted.
"""

from __future__ import annotations

import pulumi

from components.cluster import VpnCluster
from components.declaration import DeclarationError, parse_clusters
from components.naming import owner_marker
from components.registry import check_supported

config = pulumi.Config("aovpn")
try:
    clusters = parse_clusters(config.get_object("clusters") or [])
    check_supported(clusters)
except DeclarationError as exc:
    # RunError: the CLI shows the message without a Python stack trace.
    raise pulumi.RunError(str(exc)) from None

owner = owner_marker(pulumi.get_project(), pulumi.get_stack())
outputs = {}
for cluster in clusters:
    component = VpnCluster(cluster, owner)
    outputs[cluster.name] = {
        "loadBalancer": cluster.load_balancer.kind,
        "virtualAddress": cluster.virtual_address,
        "objects": component.objects,
        "ipsecPolicy": component.ipsec_policy,
        "clientProfile": component.client_profile,
        "sstpCertificateSha256": component.sstp_certificate_sha256,
    }
pulumi.export("clusters", outputs)
