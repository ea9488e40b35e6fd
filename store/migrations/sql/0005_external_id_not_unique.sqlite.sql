-- externalId is the client's value (RFC 7643 §3.1): not unique, still indexed for filters.
-- SQLite cannot drop a column constraint: each table is rebuilt (same columns, same rows,
-- same indexes, including the hold columns of 0003) and renamed into place; the other
-- tables' references keep naming it.
CREATE TABLE "scim_user_0005" (
  "id" VARCHAR(64) NOT NULL PRIMARY KEY,
  "user_name" VARCHAR(512) NOT NULL,
  "user_name_key" VARCHAR(512) UNIQUE,
  "external_id" VARCHAR(512),
  "display_name" VARCHAR(1024),
  "display_name_key" VARCHAR(1024),
  "given_name_key" VARCHAR(512),
  "family_name_key" VARCHAR(512),
  "active" BOOLEAN NOT NULL,
  "document" JSON NOT NULL,
  "created" DATETIME NOT NULL,
  "last_modified" DATETIME NOT NULL,
  "version" INTEGER NOT NULL,
  "deleted_at" DATETIME,
  "held_at" DATETIME,
  "held_by" VARCHAR(256),
  "hold_reason" VARCHAR(1024),
  "idp_active" BOOLEAN
);
INSERT INTO "scim_user_0005" ("id", "user_name", "user_name_key", "external_id", "display_name", "display_name_key", "given_name_key", "family_name_key", "active", "document", "created", "last_modified", "version", "deleted_at", "held_at", "held_by", "hold_reason", "idp_active") SELECT "id", "user_name", "user_name_key", "external_id", "display_name", "display_name_key", "given_name_key", "family_name_key", "active", "document", "created", "last_modified", "version", "deleted_at", "held_at", "held_by", "hold_reason", "idp_active" FROM "scim_user";
DROP TABLE "scim_user";
ALTER TABLE "scim_user_0005" RENAME TO "scim_user";
CREATE INDEX "idx_scim_user__active" ON "scim_user" ("active");
CREATE INDEX "idx_scim_user__created" ON "scim_user" ("created");
CREATE INDEX "idx_scim_user__deleted_at" ON "scim_user" ("deleted_at");
CREATE INDEX "idx_scim_user__deleted_at_created_id" ON "scim_user" ("deleted_at", "created", "id");
CREATE INDEX "idx_scim_user__deleted_at_user_name_key" ON "scim_user" ("deleted_at", "user_name_key");
CREATE INDEX "idx_scim_user__display_name_key" ON "scim_user" ("display_name_key");
CREATE INDEX "idx_scim_user__family_name_key" ON "scim_user" ("family_name_key");
CREATE INDEX "idx_scim_user__given_name_key" ON "scim_user" ("given_name_key");
CREATE INDEX "idx_scim_user__last_modified" ON "scim_user" ("last_modified");
CREATE INDEX "idx_scim_user__external_id" ON "scim_user" ("external_id");
CREATE TABLE "scim_group_0005" (
  "id" VARCHAR(64) NOT NULL PRIMARY KEY,
  "display_name" VARCHAR(1024) NOT NULL,
  "display_name_key" VARCHAR(1024) UNIQUE NOT NULL,
  "external_id" VARCHAR(512),
  "document" JSON NOT NULL,
  "created" DATETIME NOT NULL,
  "last_modified" DATETIME NOT NULL,
  "version" INTEGER NOT NULL,
  "member_count" INTEGER NOT NULL
);
INSERT INTO "scim_group_0005" ("id", "display_name", "display_name_key", "external_id", "document", "created", "last_modified", "version", "member_count") SELECT "id", "display_name", "display_name_key", "external_id", "document", "created", "last_modified", "version", "member_count" FROM "scim_group";
DROP TABLE "scim_group";
ALTER TABLE "scim_group_0005" RENAME TO "scim_group";
CREATE INDEX "idx_scim_group__created" ON "scim_group" ("created");
CREATE INDEX "idx_scim_group__last_modified" ON "scim_group" ("last_modified");
CREATE INDEX "idx_scim_group__external_id" ON "scim_group" ("external_id");
