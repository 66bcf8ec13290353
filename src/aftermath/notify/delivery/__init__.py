"""Delivery of notices: the outbox in the case store, SMTP sending exactly once, a local sink, tracking."""
