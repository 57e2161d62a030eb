"""The Citrix twin behaves like a NITRO API: the fidelity traps of reference/citrix.md, by concern."""
