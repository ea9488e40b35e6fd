"""An operator's hold on a user (``user deactivate``): when it was placed, by whom and why,
and what the IdP last asked for meanwhile. Four nullable columns on ``scim_user``."""

from yoyo import step

from store.migrate import sql_step

__depends__ = {"0002_group_name_keys"}
steps = [step(sql_step("0003_operator_hold"))]
