-- IdP connections: one row per identity provider; its tokens, users and groups name it. A
-- removed connection keeps its row (its revoked tokens and deleted users still name it).
CREATE TABLE "scim_connection" (
  "id" SERIAL PRIMARY KEY,
  "name" VARCHAR(256) NOT NULL,
  "name_key" VARCHAR(256) UNIQUE NOT NULL,
  "kind" VARCHAR(16),
  "removed_at" TIMESTAMP,
  "created_at" TIMESTAMP NOT NULL
);
-- Which connection owns each existing token, user and group: filled by the migration's data
-- step from the token names and the audit trail, read by the statements below, then dropped.
CREATE TABLE "connection_owner_0007" (
  "target_type" VARCHAR(16) NOT NULL,
  "target_id" VARCHAR(64) NOT NULL,
  "connection_id" INTEGER NOT NULL,
  PRIMARY KEY ("target_type", "target_id")
);
