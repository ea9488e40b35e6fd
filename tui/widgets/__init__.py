"""Reusable widgets of the operator UI (no store access, no product rules)."""
