"""The Citrix twin behaves like a NITRO API: the fidelity traps of docs/citrix.md, by concern."""
