"""Write use cases: one function = one transaction = one audit event (or a few, one per effect)."""
