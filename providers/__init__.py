"""Pulumi dynamic providers, one per appliance object type, over each vendor's API.

``providers.common`` holds what every vendor shares (device connection settings and secrets from
stack config, HTTP sessions with retries, error reporting, the read → diff → apply resource base);
``providers.<vendor>`` owns that vendor's wire format. A provider never knows what a cluster is.
"""
