"""Large membership replacements and group deletions run in batches committed as they go,
through the pending table of 0006: a row may now name the group being changed and carry
the members still to move, so the worker finishes an interrupted change after a restart."""

from yoyo import step

from store.migrate import sql_step

__depends__ = {"0008_session_address"}
steps = [step(sql_step("0009_pending_group_changes"))]
