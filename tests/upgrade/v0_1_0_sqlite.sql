-- trident-scim v0.1.0 database (sqlite): schema as Pony created it, and rows
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
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (1, '2026-01-05 09:00:00.000000', 'system', 'role.created', 'role', 'admin', 'admin', NULL, NULL, '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (10, '2026-01-05 09:00:00.000000', 'operator:seed', 'role.granted', 'user', '8b8751c827744c3e8c6629b9764ebb97', 'grace@example.com', NULL, '{"role":"viewer","source":"manual"}', '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (11, '2026-01-05 09:00:00.000000', 'operator:seed', 'session.started', 'user', '46f0dee569e3453ba18ae0d2bcb1c76b', 'ada@example.com', NULL, NULL, 'session 1 until 2026-01-05T21:00:00Z');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (2, '2026-01-05 09:00:00.000000', 'system', 'role.created', 'role', 'operator', 'operator', NULL, NULL, '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (3, '2026-01-05 09:00:00.000000', 'system', 'role.created', 'role', 'viewer', 'viewer', NULL, NULL, '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (4, '2026-01-05 09:00:00.000000', 'operator:seed', 'mapping.set', 'mapping', 'engineering', 'Engineering -> operator', NULL, '{"group":"Engineering","role":"operator"}', '0 IdP role assignment(s) changed');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (5, '2026-01-05 09:00:00.000000', 'operator:seed', 'token.issued', 'token', '1', 'Okta SCIM', NULL, '{"name":"Okta SCIM","prefix":"tscim_BwgJ","rate_limit":null}', '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (6, '2026-01-05 09:00:00.000000', 'token:Okta SCIM', 'user.created', 'user', '46f0dee569e3453ba18ae0d2bcb1c76b', 'ada@example.com', NULL, '{"active":true,"displayName":"Ada","externalId":"ext-0","userName":"ada@example.com"}', '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (7, '2026-01-05 09:00:00.000000', 'token:Okta SCIM', 'user.created', 'user', '8b8751c827744c3e8c6629b9764ebb97', 'grace@example.com', NULL, '{"active":true,"displayName":"Grace","externalId":"ext-1","userName":"grace@example.com"}', '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (8, '2026-01-05 09:00:00.000000', 'token:Okta SCIM', 'roles.recomputed', 'user', '46f0dee569e3453ba18ae0d2bcb1c76b', 'ada@example.com', '[]', '["operator"]', '+1 -0 IdP role assignment(s)');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (9, '2026-01-05 09:00:00.000000', 'token:Okta SCIM', 'group.created', 'group', '30129c0cee6b4d00a8421b41b4fac94b', 'Engineering', NULL, '{"displayName":"Engineering","externalId":"grp-1","members":["46f0dee569e3453ba18ae0d2bcb1c76b"]}', '');
INSERT INTO "control_role" ("name", "description", "created") VALUES ('admin', '', '2026-01-05 09:00:00.000000');
INSERT INTO "control_role" ("name", "description", "created") VALUES ('operator', '', '2026-01-05 09:00:00.000000');
INSERT INTO "control_role" ("name", "description", "created") VALUES ('viewer', '', '2026-01-05 09:00:00.000000');
INSERT INTO "rate_bucket" ("key", "tat") VALUES ('token:1', 1767603603.0);
INSERT INTO "request_activity" ("id", "at", "token_id", "token_name", "client", "method", "path", "query", "status", "latency_ms", "scim_type", "detail", "user_agent") VALUES (1, '2026-01-05 09:00:00.000000', 1, '', '', 'GET', '/scim/v2/Users', '', 200, 1.5, '', '', '');
INSERT INTO "schema_meta" ("key", "value") VALUES ('schema_version', '1');
INSERT INTO "scim_group" ("id", "display_name", "display_name_key", "external_id", "document", "created", "last_modified", "version", "member_count") VALUES ('30129c0cee6b4d00a8421b41b4fac94b', 'Engineering', 'engineering', 'grp-1', '{}', '2026-01-05 09:00:00.000000', '2026-01-05 09:00:00.000000', 1, 1);
INSERT INTO "scim_token" ("id", "name", "name_key", "prefix", "secret_hash", "created", "created_by", "last_used", "revoked_at", "revoked_by", "rate_limit", "stale_since") VALUES (1, 'Okta SCIM', 'okta scim', 'tscim_BwgJ', '36803ba5fbde16847e4e15f57d25fd84293fac2bb3efdf812da40fe940d09bff', '2026-01-05 09:00:00.000000', 'operator:seed', '2026-01-05 09:00:00.000000', NULL, NULL, NULL, NULL);
INSERT INTO "scim_user" ("id", "user_name", "user_name_key", "external_id", "display_name", "display_name_key", "given_name_key", "family_name_key", "active", "document", "created", "last_modified", "version", "deleted_at") VALUES ('46f0dee569e3453ba18ae0d2bcb1c76b', 'ada@example.com', 'ada@example.com', 'ext-0', 'Ada', 'ada', 'ada', 'example', 1, '{"displayName":"Ada","emails":[{"primary":true,"type":"work","value":"ada@example.com"}],"name":{"familyName":"Example","givenName":"Ada"}}', '2026-01-05 09:00:00.000000', '2026-01-05 09:00:00.000000', 1, NULL);
INSERT INTO "scim_user" ("id", "user_name", "user_name_key", "external_id", "display_name", "display_name_key", "given_name_key", "family_name_key", "active", "document", "created", "last_modified", "version", "deleted_at") VALUES ('8b8751c827744c3e8c6629b9764ebb97', 'grace@example.com', 'grace@example.com', 'ext-1', 'Grace', 'grace', 'gra', 'example', 1, '{"displayName":"Grace","emails":[{"primary":true,"type":"work","value":"grace@example.com"}],"name":{"familyName":"Example","givenName":"Gra"}}', '2026-01-05 09:00:00.000000', '2026-01-05 09:00:00.000000', 1, NULL);
INSERT INTO "control_role_assignment" ("id", "user", "role", "source", "via_group", "created", "granted_by") VALUES (1, '46f0dee569e3453ba18ae0d2bcb1c76b', 'operator', 'idp', 'engineering', '2026-01-05 09:00:00.000000', 'token:Okta SCIM');
INSERT INTO "control_role_assignment" ("id", "user", "role", "source", "via_group", "created", "granted_by") VALUES (2, '8b8751c827744c3e8c6629b9764ebb97', 'viewer', 'manual', '', '2026-01-05 09:00:00.000000', 'operator:seed');
INSERT INTO "control_session" ("id", "secret_hash", "user", "created", "last_seen", "expires_at", "ended_at", "end_reason") VALUES (1, 'c627eb977a355b9981cbdec395395dd5a53fa259ee5f2ba0126c6fd982f29f5b', '46f0dee569e3453ba18ae0d2bcb1c76b', '2026-01-05 09:00:00.000000', '2026-01-05 09:00:00.000000', '2026-01-05 21:00:00.000000', NULL, NULL);
INSERT INTO "scim_membership" ("group", "user", "created") VALUES ('30129c0cee6b4d00a8421b41b4fac94b', '46f0dee569e3453ba18ae0d2bcb1c76b', '2026-01-05 09:00:00.000000');
INSERT INTO "scim_user_email" ("id", "user", "value", "value_key", "type", "primary") VALUES (1, '46f0dee569e3453ba18ae0d2bcb1c76b', 'ada@example.com', 'ada@example.com', 'work', 1);
INSERT INTO "scim_user_email" ("id", "user", "value", "value_key", "type", "primary") VALUES (2, '8b8751c827744c3e8c6629b9764ebb97', 'grace@example.com', 'grace@example.com', 'work', 1);
INSERT INTO "sso_group_role_mapping" ("id", "group_name", "group_name_key", "role", "created", "created_by") VALUES (1, 'Engineering', 'engineering', 'operator', '2026-01-05 09:00:00.000000', 'operator:seed');
INSERT INTO "worker_job_run" ("id", "job", "started", "finished", "outcome", "changed", "summary", "error", "holder") VALUES (1, 'reconcile_roles', '2026-01-05 09:00:00.000000', '2026-01-05 09:00:00.000000', 'ok', 1, '1 user', '', 'host-a:123');
INSERT INTO "worker_lease" ("name", "holder", "expires_at") VALUES ('worker', 'host-a:123', 1767603660.0);
