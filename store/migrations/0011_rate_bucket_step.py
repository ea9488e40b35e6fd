"""A rate-limit bucket records the slot length its TAT was counted in, so that a token whose
limit changes keeps the number of requests it has used, not the seconds: a raised limit takes
effect at once, and a lowered one hands out no second burst."""

from yoyo import step

from store.migrate import sql_step

__depends__ = {"0009_pending_group_changes"}
steps = [step(sql_step("0011_rate_bucket_step"))]
