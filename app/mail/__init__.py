"""Outgoing mail: composing, the outbox, delivery backends."""
