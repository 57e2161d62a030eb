"""F5 BIG-IP over iControl REST: token sessions, and one provider per LTM object type."""
