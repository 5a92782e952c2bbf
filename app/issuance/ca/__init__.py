"""The certificate authorities the portal can stand in front of (CA_BACKEND chooses one)."""
