"""Revocation (失効申請): the holder's request, the LRA's queue, the revoke service, OCSP."""
