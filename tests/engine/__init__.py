"""tests/engine: a stand-in for the Pulumi CLI and engine, for this project's tests only.

placeholder
"""
