-- 0001_baseline (sqlite): the schema of trident-scim 0.1.0, exactly as Pony 0.7.20 created it
CREATE TABLE "audit_event" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "at" DATETIME NOT NULL,
  "actor" VARCHAR(256) NOT NULL,
  "action" VARCHAR(64) NOT NULL,
  "target_type" VARCHAR(32) NOT NULL,
  "target_id" VARCHAR(64) NOT NULL,
  "target_name" VARCHAR(1024) NOT NULL,
  "before" JSON,
  "after" JSON,
  "detail" VARCHAR(2048) NOT NULL
);
CREATE INDEX "idx_audit_event__at" ON "audit_event" ("at");
CREATE INDEX "idx_audit_event__target_type_target_id_at" ON "audit_event" ("target_type", "target_id", "at");
CREATE TABLE "control_role" (
  "name" VARCHAR(128) NOT NULL PRIMARY KEY,
  "description" VARCHAR(1024) NOT NULL,
  "created" DATETIME NOT NULL
);
CREATE TABLE "rate_bucket" (
  "key" VARCHAR(256) NOT NULL PRIMARY KEY,
  "tat" REAL NOT NULL
);
CREATE TABLE "request_activity" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "at" DATETIME NOT NULL,
  "token_id" INTEGER,
  "token_name" VARCHAR(256) NOT NULL,
  "client" VARCHAR(128) NOT NULL,
  "method" VARCHAR(16) NOT NULL,
  "path" VARCHAR(1024) NOT NULL,
  "query" VARCHAR(4096) NOT NULL,
  "status" INTEGER NOT NULL,
  "latency_ms" REAL NOT NULL,
  "scim_type" VARCHAR(64) NOT NULL,
  "detail" VARCHAR(2048) NOT NULL,
  "user_agent" VARCHAR(256) NOT NULL
);
CREATE INDEX "idx_request_activity__at" ON "request_activity" ("at");
CREATE INDEX "idx_request_activity__status" ON "request_activity" ("status");
CREATE INDEX "idx_request_activity__token_id_at" ON "request_activity" ("token_id", "at");
CREATE TABLE "schema_meta" (
  "key" VARCHAR(64) NOT NULL PRIMARY KEY,
  "value" VARCHAR(256) NOT NULL
);
CREATE TABLE "scim_group" (
  "id" VARCHAR(64) NOT NULL PRIMARY KEY,
  "display_name" VARCHAR(1024) NOT NULL,
  "display_name_key" VARCHAR(1024) UNIQUE NOT NULL,
  "external_id" VARCHAR(512) UNIQUE,
  "document" JSON NOT NULL,
  "created" DATETIME NOT NULL,
  "last_modified" DATETIME NOT NULL,
  "version" INTEGER NOT NULL,
  "member_count" INTEGER NOT NULL
);
CREATE INDEX "idx_scim_group__created" ON "scim_group" ("created");
CREATE INDEX "idx_scim_group__last_modified" ON "scim_group" ("last_modified");
CREATE TABLE "scim_token" (
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
  "stale_since" DATETIME
);
CREATE TABLE "scim_user" (
  "id" VARCHAR(64) NOT NULL PRIMARY KEY,
  "user_name" VARCHAR(512) NOT NULL,
  "user_name_key" VARCHAR(512) UNIQUE,
  "external_id" VARCHAR(512) UNIQUE,
  "display_name" VARCHAR(1024),
  "display_name_key" VARCHAR(1024),
  "given_name_key" VARCHAR(512),
  "family_name_key" VARCHAR(512),
  "active" BOOLEAN NOT NULL,
  "document" JSON NOT NULL,
  "created" DATETIME NOT NULL,
  "last_modified" DATETIME NOT NULL,
  "version" INTEGER NOT NULL,
  "deleted_at" DATETIME
);
CREATE INDEX "idx_scim_user__active" ON "scim_user" ("active");
CREATE INDEX "idx_scim_user__created" ON "scim_user" ("created");
CREATE INDEX "idx_scim_user__deleted_at" ON "scim_user" ("deleted_at");
CREATE INDEX "idx_scim_user__deleted_at_created_id" ON "scim_user" ("deleted_at", "created", "id");
CREATE INDEX "idx_scim_user__deleted_at_user_name_key" ON "scim_user" ("deleted_at", "user_name_key");
CREATE INDEX "idx_scim_user__display_name_key" ON "scim_user" ("display_name_key");
CREATE INDEX "idx_scim_user__family_name_key" ON "scim_user" ("family_name_key");
CREATE INDEX "idx_scim_user__given_name_key" ON "scim_user" ("given_name_key");
CREATE INDEX "idx_scim_user__last_modified" ON "scim_user" ("last_modified");
CREATE TABLE "control_role_assignment" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "user" VARCHAR(64) NOT NULL REFERENCES "scim_user" ("id") ON DELETE CASCADE,
  "role" VARCHAR(128) NOT NULL REFERENCES "control_role" ("name") ON DELETE CASCADE,
  "source" VARCHAR(16) NOT NULL,
  "via_group" VARCHAR(1024),
  "created" DATETIME NOT NULL,
  "granted_by" VARCHAR(256) NOT NULL,
  CONSTRAINT "unq_control_role_assignment__user_role_source_via_group" UNIQUE ("user", "role", "source", "via_group")
);
CREATE INDEX "idx_control_role_assignment__role" ON "control_role_assignment" ("role");
CREATE TABLE "control_session" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "secret_hash" VARCHAR(128) UNIQUE NOT NULL,
  "user" VARCHAR(64) NOT NULL REFERENCES "scim_user" ("id") ON DELETE CASCADE,
  "created" DATETIME NOT NULL,
  "last_seen" DATETIME NOT NULL,
  "expires_at" DATETIME NOT NULL,
  "ended_at" DATETIME,
  "end_reason" VARCHAR(128)
);
CREATE INDEX "idx_control_session__ended_at" ON "control_session" ("ended_at");
CREATE INDEX "idx_control_session__expires_at" ON "control_session" ("expires_at");
CREATE INDEX "idx_control_session__user" ON "control_session" ("user");
CREATE TABLE "scim_membership" (
  "group" VARCHAR(64) NOT NULL REFERENCES "scim_group" ("id") ON DELETE CASCADE,
  "user" VARCHAR(64) NOT NULL REFERENCES "scim_user" ("id") ON DELETE CASCADE,
  "created" DATETIME NOT NULL,
  PRIMARY KEY ("group", "user")
);
CREATE INDEX "idx_scim_membership__user_group" ON "scim_membership" ("user", "group");
CREATE TABLE "scim_user_email" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "user" VARCHAR(64) NOT NULL REFERENCES "scim_user" ("id") ON DELETE CASCADE,
  "value" VARCHAR(512) NOT NULL,
  "value_key" VARCHAR(512) NOT NULL,
  "type" VARCHAR(64),
  "primary" BOOLEAN NOT NULL
);
CREATE INDEX "idx_scim_user_email__user" ON "scim_user_email" ("user");
CREATE INDEX "idx_scim_user_email__value_key" ON "scim_user_email" ("value_key");
CREATE TABLE "sso_group_role_mapping" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "group_name" VARCHAR(1024) NOT NULL,
  "group_name_key" VARCHAR(1024) NOT NULL,
  "role" VARCHAR(128) NOT NULL REFERENCES "control_role" ("name") ON DELETE CASCADE,
  "created" DATETIME NOT NULL,
  "created_by" VARCHAR(256) NOT NULL,
  CONSTRAINT "unq_sso_group_role_mapping__group_name_key_role" UNIQUE ("group_name_key", "role")
);
CREATE INDEX "idx_sso_group_role_mapping__group_name_key" ON "sso_group_role_mapping" ("group_name_key");
CREATE INDEX "idx_sso_group_role_mapping__role" ON "sso_group_role_mapping" ("role");
CREATE TABLE "worker_job_run" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "job" VARCHAR(64) NOT NULL,
  "started" DATETIME NOT NULL,
  "finished" DATETIME,
  "outcome" VARCHAR(16) NOT NULL,
  "changed" INTEGER NOT NULL,
  "summary" VARCHAR(2048) NOT NULL,
  "error" VARCHAR(4096) NOT NULL,
  "holder" VARCHAR(256) NOT NULL
);
CREATE INDEX "idx_worker_job_run__job_started" ON "worker_job_run" ("job", "started");
CREATE TABLE "worker_lease" (
  "name" VARCHAR(64) NOT NULL PRIMARY KEY,
  "holder" VARCHAR(256) NOT NULL,
  "expires_at" REAL NOT NULL
);
INSERT INTO "schema_meta" ("key", "value") VALUES ('schema_version', '1');
