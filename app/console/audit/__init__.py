"""The tamper-evident audit log: hash-chained rows written in the caller's transaction."""
