"""The issuance application (発行申請), reached through the emailed link."""
