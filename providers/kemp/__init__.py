"""Kemp (Progress) LoadMaster: virtual services, real servers and port following over the classic REST API."""
