"""Local twins of the appliances' management APIs (F5 iControl REST, Citrix NITRO, Kemp LoadMaster,
WinRM/PSRP to RRAS), for the demo stack and for tests.

Layout, after moto: one package per vendor with a backend that owns state and the appliance's rules
(``backend.py``), a thin HTTP layer (``responses.py`` / ``app.py``) and its own exceptions
(``exceptions.py``). ``emulators.common`` holds what every twin shares: HTTPS with a generated CA,
the admin interface (request log, counters, latency and fault injection, reboot, state dump) and the
threaded server.
"""
