"""Operators' accounts: passwords, TOTP, recovery codes, setup links, sign-in."""
