"""The domain: what an Always On VPN cluster is, how it is validated, and which appliance objects it needs.

``declaration`` parses and validates a cluster declaration (stack config ``aovpn:clusters``);
``cluster.VpnCluster`` is the Pulumi ComponentResource that composes one resource per appliance object,
with a module per load-balancer vendor (``f5``) deciding which objects that vendor needs.
Components never build a URL; providers never know what a cluster is.
"""
