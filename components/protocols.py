"""What IKEv2 and SSTP need from any load balancer: the facts every vendor module builds on (DESIGN.md).

IKEv2 starts on UDP 500 and moves to UDP 4500 behind NAT, so both ports of one client must reach one
node. SSTP is HTTPS on the SSTP URI; its listener answers a HEAD of that URI with 401 (it wants
authentication), which is what a health check can expect. With TLS offloaded to the load balancer and no
re-encryption, the nodes are told to accept plain HTTP, which RRAS serves on port 80; otherwise the
nodes speak TLS on 443.
"""

from __future__ import annotations

from components.declaration import Cluster

IKEV2_PORTS = (500, 4500)
#: The SSTP listener's URI (the sra GUID path clients send their SSTP_DUPLEX_POST to).
SSTP_URI = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"
#: What the SSTP listener answers a HEAD of SSTP_URI with when it is up.
SSTP_HEALTHY_STATUS = "401"
SSTP_TLS_PORT = 443
SSTP_HTTP_PORT = 80


def sstp_in_clear_to_nodes(cluster: Cluster) -> bool:
    """Whether SSTP reaches the nodes as plain HTTP (TLS offloaded without re-encryption)."""
    offload = cluster.sstp.tls_offload
    return offload is not None and not offload.reencrypt


def sstp_node_port(cluster: Cluster) -> int:
    """The nodes' SSTP port: 80 when TLS is offloaded without re-encryption, else 443."""
    return SSTP_HTTP_PORT if sstp_in_clear_to_nodes(cluster) else SSTP_TLS_PORT
