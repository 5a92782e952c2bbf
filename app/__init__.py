"""JCAN certificate online issuance system."""
