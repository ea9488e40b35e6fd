"""The core of the SCIM provisioning service: records, pure rules, use cases and persistence.

Nothing in here knows about HTTP, the terminal UI or the scheduler; every edge calls in.
"""
