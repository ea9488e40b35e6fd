"""The request log aggregates refused requests (401 and 429): one row per client address,
status and minute, whose new ``hits`` column counts the requests it stands for."""

from yoyo import step

from store.migrate import sql_step

__depends__ = {"0003_operator_hold"}
steps = [step(sql_step("0004_request_log_hits"))]
