-- A large role recomputation (a mapping edit) still to finish: the worker completes it after
-- a restart, from the last user id a committed batch reached.
CREATE TABLE "role_recompute_pending" (
  "id" SERIAL PRIMARY KEY,
  "group_name_key" VARCHAR(1024) NOT NULL,
  "cause" JSONB NOT NULL,
  "actor" VARCHAR(256) NOT NULL,
  "after_user" VARCHAR(64) NOT NULL,
  "done" INTEGER NOT NULL,
  "changed" INTEGER NOT NULL,
  "created" TIMESTAMP NOT NULL
);
