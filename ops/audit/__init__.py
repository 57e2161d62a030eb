"""The read-only audit of live Always On VPN clusters (``./run audit``, ops/audit/cli.py): the model
(model.py), the vendors' load-balancer checks (f5.py, citrix.py, kemp.py, found by kind: vendors.py), the
RRAS checks (rras.py), the report (report.py) and the declaration writer (declaration.py)."""
