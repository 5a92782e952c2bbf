"""One-time emailed links: token columns, mint / resolve / state / consume, the web exchange."""
