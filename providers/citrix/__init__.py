"""Citrix ADC (NetScaler) over NITRO REST: login sessions, and one provider per NITRO object."""
