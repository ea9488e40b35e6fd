"""A connection may be limited to userName domains: a ``domains`` column on
``scim_connection``, NULL (any userName, as before) for every existing connection."""

from yoyo import step

from store.migrate import sql_step

__depends__ = {"0011_rate_bucket_step"}
steps = [step(sql_step("0012_connection_domains"))]
