-- A pending row that changes a group's members: the group (NULL for a mapping edit's
-- recomputation) and the plan ({"remove": [...], "add": [...], "delete": bool}, the member
-- ids in the order the batches take them; "done" counts the ones already moved).
ALTER TABLE "role_recompute_pending" ADD COLUMN "group_id" VARCHAR(64);
ALTER TABLE "role_recompute_pending" ADD COLUMN "members" JSON;
CREATE INDEX "idx_role_recompute_pending__group_id" ON "role_recompute_pending" ("group_id");
