-- Each token, user and group gets the connection the data step found for it; group names
-- become unique within a connection; a mapping row may name one connection (NULL: any).
-- SQLite cannot add a NOT NULL reference or change a constraint in place: the tables are
-- rebuilt with every current column (the hold columns of 0003 and the plain externalId index
-- of 0005 included) and their indexes recreated. A row the data step left without an owner
-- fails the NOT NULL and the whole migration, in its one transaction, changes nothing.
CREATE TABLE "scim_token_0007" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "name" VARCHAR(256) NOT NULL,
  "name_key" VARCHAR(256) UNIQUE NOT NULL,
  "prefix" VARCHAR(64) NOT NULL,
  "secret_hash" VARCHAR(128) UNIQUE NOT NULL,
  "created" DATETIME NOT NULL,
  "created_by" VARCHAR(256) NOT NULL,
  "last_used" DATETIME,
  "revoked_at" DATETIME,
  "revoked_by" VARCHAR(256),
  "rate_limit" INTEGER,
  "stale_since" DATETIME,
  "connection_id" INTEGER NOT NULL REFERENCES "scim_connection" ("id")
);
INSERT INTO "scim_token_0007" ("id", "name", "name_key", "prefix", "secret_hash", "created", "created_by", "last_used", "revoked_at", "revoked_by", "rate_limit", "stale_since", "connection_id") SELECT t."id", t."name", t."name_key", t."prefix", t."secret_hash", t."created", t."created_by", t."last_used", t."revoked_at", t."revoked_by", t."rate_limit", t."stale_since", o."connection_id" FROM "scim_token" t LEFT JOIN "connection_owner_0007" o ON o."target_type" = 'token' AND o."target_id" = CAST(t."id" AS TEXT);
-- The id sequence carries over (ids name tokens in the audit and the request log).
DELETE FROM "sqlite_sequence" WHERE "name" = 'scim_token_0007';
INSERT INTO "sqlite_sequence" ("name", "seq") SELECT 'scim_token_0007', "seq" FROM "sqlite_sequence" WHERE "name" = 'scim_token';
DROP TABLE "scim_token";
ALTER TABLE "scim_token_0007" RENAME TO "scim_token";
CREATE INDEX "idx_scim_token__connection_id" ON "scim_token" ("connection_id");
CREATE TABLE "scim_user_0007" (
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
  "idp_active" BOOLEAN,
  "connection_id" INTEGER NOT NULL REFERENCES "scim_connection" ("id")
);
INSERT INTO "scim_user_0007" ("id", "user_name", "user_name_key", "external_id", "display_name", "display_name_key", "given_name_key", "family_name_key", "active", "document", "created", "last_modified", "version", "deleted_at", "held_at", "held_by", "hold_reason", "idp_active", "connection_id") SELECT u."id", u."user_name", u."user_name_key", u."external_id", u."display_name", u."display_name_key", u."given_name_key", u."family_name_key", u."active", u."document", u."created", u."last_modified", u."version", u."deleted_at", u."held_at", u."held_by", u."hold_reason", u."idp_active", o."connection_id" FROM "scim_user" u LEFT JOIN "connection_owner_0007" o ON o."target_type" = 'user' AND o."target_id" = u."id";
DROP TABLE "scim_user";
ALTER TABLE "scim_user_0007" RENAME TO "scim_user";
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
CREATE INDEX "idx_scim_user__connection_id_deleted_at_created_id" ON "scim_user" ("connection_id", "deleted_at", "created", "id");
CREATE TABLE "scim_group_0007" (
  "id" VARCHAR(64) NOT NULL PRIMARY KEY,
  "display_name" VARCHAR(1024) NOT NULL,
  "display_name_key" VARCHAR(1024) NOT NULL,
  "external_id" VARCHAR(512),
  "document" JSON NOT NULL,
  "created" DATETIME NOT NULL,
  "last_modified" DATETIME NOT NULL,
  "version" INTEGER NOT NULL,
  "member_count" INTEGER NOT NULL,
  "connection_id" INTEGER NOT NULL REFERENCES "scim_connection" ("id"),
  CONSTRAINT "unq_scim_group__connection_id_display_name_key" UNIQUE ("connection_id", "display_name_key")
);
INSERT INTO "scim_group_0007" ("id", "display_name", "display_name_key", "external_id", "document", "created", "last_modified", "version", "member_count", "connection_id") SELECT g."id", g."display_name", g."display_name_key", g."external_id", g."document", g."created", g."last_modified", g."version", g."member_count", o."connection_id" FROM "scim_group" g LEFT JOIN "connection_owner_0007" o ON o."target_type" = 'group' AND o."target_id" = g."id";
DROP TABLE "scim_group";
ALTER TABLE "scim_group_0007" RENAME TO "scim_group";
CREATE INDEX "idx_scim_group__created" ON "scim_group" ("created");
CREATE INDEX "idx_scim_group__last_modified" ON "scim_group" ("last_modified");
CREATE INDEX "idx_scim_group__external_id" ON "scim_group" ("external_id");
CREATE INDEX "idx_scim_group__display_name_key" ON "scim_group" ("display_name_key");
CREATE INDEX "idx_scim_group__connection_id_created_id" ON "scim_group" ("connection_id", "created", "id");
CREATE TABLE "sso_group_role_mapping_0007" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "group_name" VARCHAR(1024) NOT NULL,
  "group_name_key" VARCHAR(1024) NOT NULL,
  "role" VARCHAR(128) NOT NULL REFERENCES "control_role" ("name") ON DELETE CASCADE,
  "created" DATETIME NOT NULL,
  "created_by" VARCHAR(256) NOT NULL,
  "connection_id" INTEGER REFERENCES "scim_connection" ("id"),
  CONSTRAINT "unq_sso_group_role_mapping__connection_id_group_name_key_role" UNIQUE ("connection_id", "group_name_key", "role")
);
INSERT INTO "sso_group_role_mapping_0007" ("id", "group_name", "group_name_key", "role", "created", "created_by", "connection_id") SELECT "id", "group_name", "group_name_key", "role", "created", "created_by", NULL FROM "sso_group_role_mapping";
DELETE FROM "sqlite_sequence" WHERE "name" = 'sso_group_role_mapping_0007';
INSERT INTO "sqlite_sequence" ("name", "seq") SELECT 'sso_group_role_mapping_0007', "seq" FROM "sqlite_sequence" WHERE "name" = 'sso_group_role_mapping';
DROP TABLE "sso_group_role_mapping";
ALTER TABLE "sso_group_role_mapping_0007" RENAME TO "sso_group_role_mapping";
CREATE INDEX "idx_sso_group_role_mapping__group_name_key" ON "sso_group_role_mapping" ("group_name_key");
CREATE INDEX "idx_sso_group_role_mapping__role" ON "sso_group_role_mapping" ("role");
CREATE INDEX "idx_sso_group_role_mapping__connection_id" ON "sso_group_role_mapping" ("connection_id");
-- The request log names the connection of each request's token (the activity view filters
-- by it); rows written before have none.
ALTER TABLE "request_activity" ADD COLUMN "connection" VARCHAR(256);
CREATE INDEX "idx_request_activity__connection_at" ON "request_activity" ("connection", "at");
DROP TABLE "connection_owner_0007";
