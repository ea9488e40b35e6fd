"""Where a browser session is used from: the client's IP address and User-Agent, recorded
when the session starts and on each accepted check (from a trusted proxy only). Two nullable
columns on ``control_session``; sessions from before stay without them ("unknown")."""

from yoyo import step

from store.migrate import sql_step

__depends__ = {"0006_pending_recompute"}
steps = [step(sql_step("0008_session_address"))]
