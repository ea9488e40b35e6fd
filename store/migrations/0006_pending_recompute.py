"""Large role recomputations run in batches committed as they go; a table records the ones
still to finish (the group name, the cause, how far they got) so the worker completes them
after a restart."""

from yoyo import step

from store.migrate import sql_step

__depends__ = {"0004_request_log_hits"}
steps = [step(sql_step("0006_pending_recompute"))]
