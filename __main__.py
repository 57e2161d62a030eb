"""The aovpn-iac Pulumi program: every cluster declared under ``aovpn:clusters`` in the stack config.

The declaration is validated first; a bad one fails ``preview``/``up`` with a message naming the
cluster and field, before any appliance is contacted.
"""

from __future__ import annotations

import pulumi

from components.cluster import VpnCluster
from components.declaration import DeclarationError
from components.naming import owner_marker
from components.preflight import check_clusters, stack_clusters
from components.program_exit import install as quiet_when_the_engine_stops

quiet_when_the_engine_stops()
config = pulumi.Config("aovpn")
try:
    # The declaration, what the vendors can provision, the secret keys it names (set, as secrets) and its
    # CA files: all checked before any resource is registered, in preview as in up.
    clusters = check_clusters(stack_clusters(config))
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
        # counts by kind ("f5:Pool": 2); the objects themselves: `pulumi stack --show-ids`
        "objectsByKind": component.objects_by_kind,
        "ipsecPolicy": component.ipsec_policy,
        "clientProfile": component.client_profile,
        "sstpCertificateSha256": component.sstp_certificate_sha256,
        # subject, thumbprint, notAfter and daysLeft of the SSTP certificate (None without SSTP)
        "sstpCertificate": component.sstp_certificate,
    }
pulumi.export("clusters", outputs)
