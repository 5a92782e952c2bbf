"""Issuance: the CA boundary, the certificate profile, issuing, pickup and the webhooks."""
