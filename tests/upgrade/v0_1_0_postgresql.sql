-- trident-scim v0.1.0 database (postgresql): schema as Pony created it, and rows
CREATE TABLE "audit_event" (
  "id" SERIAL PRIMARY KEY,
  "at" TIMESTAMP NOT NULL,
  "actor" VARCHAR(256) NOT NULL,
  "action" VARCHAR(64) NOT NULL,
  "target_type" VARCHAR(32) NOT NULL,
  "target_id" VARCHAR(64) NOT NULL,
  "target_name" VARCHAR(1024) NOT NULL,
  "before" JSONB,
  "after" JSONB,
  "detail" VARCHAR(2048) NOT NULL
);
CREATE INDEX "idx_audit_event__at" ON "audit_event" ("at");
CREATE INDEX "idx_audit_event__target_type_target_id_at" ON "audit_event" ("target_type", "target_id", "at");
CREATE TABLE "control_role" (
  "name" VARCHAR(128) PRIMARY KEY,
  "description" VARCHAR(1024) NOT NULL,
  "created" TIMESTAMP NOT NULL
);
CREATE TABLE "rate_bucket" (
  "key" VARCHAR(256) PRIMARY KEY,
  "tat" DOUBLE PRECISION NOT NULL
);
CREATE TABLE "request_activity" (
  "id" SERIAL PRIMARY KEY,
  "at" TIMESTAMP NOT NULL,
  "token_id" INTEGER,
  "token_name" VARCHAR(256) NOT NULL,
  "client" VARCHAR(128) NOT NULL,
  "method" VARCHAR(16) NOT NULL,
  "path" VARCHAR(1024) NOT NULL,
  "query" VARCHAR(4096) NOT NULL,
  "status" INTEGER NOT NULL,
  "latency_ms" DOUBLE PRECISION NOT NULL,
  "scim_type" VARCHAR(64) NOT NULL,
  "detail" VARCHAR(2048) NOT NULL,
  "user_agent" VARCHAR(256) NOT NULL
);
CREATE INDEX "idx_request_activity__at" ON "request_activity" ("at");
CREATE INDEX "idx_request_activity__status" ON "request_activity" ("status");
CREATE INDEX "idx_request_activity__token_id_at" ON "request_activity" ("token_id", "at");
CREATE TABLE "schema_meta" (
  "key" VARCHAR(64) PRIMARY KEY,
  "value" VARCHAR(256) NOT NULL
);
CREATE TABLE "scim_group" (
  "id" VARCHAR(64) PRIMARY KEY,
  "display_name" VARCHAR(1024) NOT NULL,
  "display_name_key" VARCHAR(1024) UNIQUE NOT NULL,
  "external_id" VARCHAR(512) UNIQUE,
  "document" JSONB NOT NULL,
  "created" TIMESTAMP NOT NULL,
  "last_modified" TIMESTAMP NOT NULL,
  "version" INTEGER NOT NULL,
  "member_count" INTEGER NOT NULL
);
CREATE INDEX "idx_scim_group__created" ON "scim_group" ("created");
CREATE INDEX "idx_scim_group__last_modified" ON "scim_group" ("last_modified");
CREATE TABLE "scim_token" (
  "id" SERIAL PRIMARY KEY,
  "name" VARCHAR(256) NOT NULL,
  "name_key" VARCHAR(256) UNIQUE NOT NULL,
  "prefix" VARCHAR(64) NOT NULL,
  "secret_hash" VARCHAR(128) UNIQUE NOT NULL,
  "created" TIMESTAMP NOT NULL,
  "created_by" VARCHAR(256) NOT NULL,
  "last_used" TIMESTAMP,
  "revoked_at" TIMESTAMP,
  "revoked_by" VARCHAR(256),
  "rate_limit" INTEGER,
  "stale_since" TIMESTAMP
);
CREATE TABLE "scim_user" (
  "id" VARCHAR(64) PRIMARY KEY,
  "user_name" VARCHAR(512) NOT NULL,
  "user_name_key" VARCHAR(512) UNIQUE,
  "external_id" VARCHAR(512) UNIQUE,
  "display_name" VARCHAR(1024),
  "display_name_key" VARCHAR(1024),
  "given_name_key" VARCHAR(512),
  "family_name_key" VARCHAR(512),
  "active" BOOLEAN NOT NULL,
  "document" JSONB NOT NULL,
  "created" TIMESTAMP NOT NULL,
  "last_modified" TIMESTAMP NOT NULL,
  "version" INTEGER NOT NULL,
  "deleted_at" TIMESTAMP
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
  "id" SERIAL PRIMARY KEY,
  "user" VARCHAR(64) NOT NULL,
  "role" VARCHAR(128) NOT NULL,
  "source" VARCHAR(16) NOT NULL,
  "via_group" VARCHAR(1024),
  "created" TIMESTAMP NOT NULL,
  "granted_by" VARCHAR(256) NOT NULL,
  CONSTRAINT "unq_control_role_assignment__user_role_source_via_group" UNIQUE ("user", "role", "source", "via_group")
);
CREATE INDEX "idx_control_role_assignment__role" ON "control_role_assignment" ("role");
ALTER TABLE "control_role_assignment" ADD CONSTRAINT "fk_control_role_assignment__role" FOREIGN KEY ("role") REFERENCES "control_role" ("name") ON DELETE CASCADE;
ALTER TABLE "control_role_assignment" ADD CONSTRAINT "fk_control_role_assignment__user" FOREIGN KEY ("user") REFERENCES "scim_user" ("id") ON DELETE CASCADE;
CREATE TABLE "control_session" (
  "id" SERIAL PRIMARY KEY,
  "secret_hash" VARCHAR(128) UNIQUE NOT NULL,
  "user" VARCHAR(64) NOT NULL,
  "created" TIMESTAMP NOT NULL,
  "last_seen" TIMESTAMP NOT NULL,
  "expires_at" TIMESTAMP NOT NULL,
  "ended_at" TIMESTAMP,
  "end_reason" VARCHAR(128)
);
CREATE INDEX "idx_control_session__ended_at" ON "control_session" ("ended_at");
CREATE INDEX "idx_control_session__expires_at" ON "control_session" ("expires_at");
CREATE INDEX "idx_control_session__user" ON "control_session" ("user");
ALTER TABLE "control_session" ADD CONSTRAINT "fk_control_session__user" FOREIGN KEY ("user") REFERENCES "scim_user" ("id") ON DELETE CASCADE;
CREATE TABLE "scim_membership" (
  "group" VARCHAR(64) NOT NULL,
  "user" VARCHAR(64) NOT NULL,
  "created" TIMESTAMP NOT NULL,
  PRIMARY KEY ("group", "user")
);
CREATE INDEX "idx_scim_membership__user_group" ON "scim_membership" ("user", "group");
ALTER TABLE "scim_membership" ADD CONSTRAINT "fk_scim_membership__group" FOREIGN KEY ("group") REFERENCES "scim_group" ("id") ON DELETE CASCADE;
ALTER TABLE "scim_membership" ADD CONSTRAINT "fk_scim_membership__user" FOREIGN KEY ("user") REFERENCES "scim_user" ("id") ON DELETE CASCADE;
CREATE TABLE "scim_user_email" (
  "id" SERIAL PRIMARY KEY,
  "user" VARCHAR(64) NOT NULL,
  "value" VARCHAR(512) NOT NULL,
  "value_key" VARCHAR(512) NOT NULL,
  "type" VARCHAR(64),
  "primary" BOOLEAN NOT NULL
);
CREATE INDEX "idx_scim_user_email__user" ON "scim_user_email" ("user");
CREATE INDEX "idx_scim_user_email__value_key" ON "scim_user_email" ("value_key");
ALTER TABLE "scim_user_email" ADD CONSTRAINT "fk_scim_user_email__user" FOREIGN KEY ("user") REFERENCES "scim_user" ("id") ON DELETE CASCADE;
CREATE TABLE "sso_group_role_mapping" (
  "id" SERIAL PRIMARY KEY,
  "group_name" VARCHAR(1024) NOT NULL,
  "group_name_key" VARCHAR(1024) NOT NULL,
  "role" VARCHAR(128) NOT NULL,
  "created" TIMESTAMP NOT NULL,
  "created_by" VARCHAR(256) NOT NULL,
  CONSTRAINT "unq_sso_group_role_mapping__group_name_key_role" UNIQUE ("group_name_key", "role")
);
CREATE INDEX "idx_sso_group_role_mapping__group_name_key" ON "sso_group_role_mapping" ("group_name_key");
CREATE INDEX "idx_sso_group_role_mapping__role" ON "sso_group_role_mapping" ("role");
ALTER TABLE "sso_group_role_mapping" ADD CONSTRAINT "fk_sso_group_role_mapping__role" FOREIGN KEY ("role") REFERENCES "control_role" ("name") ON DELETE CASCADE;
CREATE TABLE "worker_job_run" (
  "id" SERIAL PRIMARY KEY,
  "job" VARCHAR(64) NOT NULL,
  "started" TIMESTAMP NOT NULL,
  "finished" TIMESTAMP,
  "outcome" VARCHAR(16) NOT NULL,
  "changed" INTEGER NOT NULL,
  "summary" VARCHAR(2048) NOT NULL,
  "error" VARCHAR(4096) NOT NULL,
  "holder" VARCHAR(256) NOT NULL
);
CREATE INDEX "idx_worker_job_run__job_started" ON "worker_job_run" ("job", "started");
CREATE TABLE "worker_lease" (
  "name" VARCHAR(64) PRIMARY KEY,
  "holder" VARCHAR(256) NOT NULL,
  "expires_at" DOUBLE PRECISION NOT NULL
);
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (1, '2026-01-05 09:00:00', 'system', 'role.created', 'role', 'admin', 'admin', NULL, NULL, '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (10, '2026-01-05 09:00:00', 'operator:seed', 'role.granted', 'user', '14212b8c97774ce1880ff1911f4e7cf4', 'grace@example.com', NULL, '{"role": "viewer", "source": "manual"}', '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (11, '2026-01-05 09:00:00', 'operator:seed', 'session.started', 'user', 'fcc7d6ca03eb41f0bff6cadb54ba032c', 'ada@example.com', NULL, NULL, 'session 1 until 2026-01-05T21:00:00Z');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (2, '2026-01-05 09:00:00', 'system', 'role.created', 'role', 'operator', 'operator', NULL, NULL, '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (3, '2026-01-05 09:00:00', 'system', 'role.created', 'role', 'viewer', 'viewer', NULL, NULL, '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (4, '2026-01-05 09:00:00', 'operator:seed', 'mapping.set', 'mapping', 'engineering', 'Engineering -> operator', NULL, '{"role": "operator", "group": "Engineering"}', '0 IdP role assignment(s) changed');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (5, '2026-01-05 09:00:00', 'operator:seed', 'token.issued', 'token', '1', 'Okta SCIM', NULL, '{"name": "Okta SCIM", "prefix": "tscim_BwgJ", "rate_limit": null}', '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (6, '2026-01-05 09:00:00', 'token:Okta SCIM', 'user.created', 'user', 'fcc7d6ca03eb41f0bff6cadb54ba032c', 'ada@example.com', NULL, '{"active": true, "userName": "ada@example.com", "externalId": "ext-0", "displayName": "Ada"}', '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (7, '2026-01-05 09:00:00', 'token:Okta SCIM', 'user.created', 'user', '14212b8c97774ce1880ff1911f4e7cf4', 'grace@example.com', NULL, '{"active": true, "userName": "grace@example.com", "externalId": "ext-1", "displayName": "Grace"}', '');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (8, '2026-01-05 09:00:00', 'token:Okta SCIM', 'roles.recomputed', 'user', 'fcc7d6ca03eb41f0bff6cadb54ba032c', 'ada@example.com', '[]', '["operator"]', '+1 -0 IdP role assignment(s)');
INSERT INTO "audit_event" ("id", "at", "actor", "action", "target_type", "target_id", "target_name", "before", "after", "detail") VALUES (9, '2026-01-05 09:00:00', 'token:Okta SCIM', 'group.created', 'group', '24f6e0fd1ecc46278f79486e4498b450', 'Engineering', NULL, '{"members": ["fcc7d6ca03eb41f0bff6cadb54ba032c"], "externalId": "grp-1", "displayName": "Engineering"}', '');
SELECT setval(pg_get_serial_sequence('audit_event', 'id'), (SELECT max(id) FROM audit_event));
INSERT INTO "control_role" ("name", "description", "created") VALUES ('admin', '', '2026-01-05 09:00:00');
INSERT INTO "control_role" ("name", "description", "created") VALUES ('operator', '', '2026-01-05 09:00:00');
INSERT INTO "control_role" ("name", "description", "created") VALUES ('viewer', '', '2026-01-05 09:00:00');
INSERT INTO "rate_bucket" ("key", "tat") VALUES ('token:1', 1767603603.0);
INSERT INTO "request_activity" ("id", "at", "token_id", "token_name", "client", "method", "path", "query", "status", "latency_ms", "scim_type", "detail", "user_agent") VALUES (1, '2026-01-05 09:00:00', 1, '', '', 'GET', '/scim/v2/Users', '', 200, 1.5, '', '', '');
SELECT setval(pg_get_serial_sequence('request_activity', 'id'), (SELECT max(id) FROM request_activity));
INSERT INTO "schema_meta" ("key", "value") VALUES ('schema_version', '1');
INSERT INTO "scim_group" ("id", "display_name", "display_name_key", "external_id", "document", "created", "last_modified", "version", "member_count") VALUES ('24f6e0fd1ecc46278f79486e4498b450', 'Engineering', 'engineering', 'grp-1', '{}', '2026-01-05 09:00:00', '2026-01-05 09:00:00', 1, 1);
INSERT INTO "scim_token" ("id", "name", "name_key", "prefix", "secret_hash", "created", "created_by", "last_used", "revoked_at", "revoked_by", "rate_limit", "stale_since") VALUES (1, 'Okta SCIM', 'okta scim', 'tscim_BwgJ', '36803ba5fbde16847e4e15f57d25fd84293fac2bb3efdf812da40fe940d09bff', '2026-01-05 09:00:00', 'operator:seed', '2026-01-05 09:00:00', NULL, NULL, NULL, NULL);
SELECT setval(pg_get_serial_sequence('scim_token', 'id'), (SELECT max(id) FROM scim_token));
INSERT INTO "scim_user" ("id", "user_name", "user_name_key", "external_id", "display_name", "display_name_key", "given_name_key", "family_name_key", "active", "document", "created", "last_modified", "version", "deleted_at") VALUES ('14212b8c97774ce1880ff1911f4e7cf4', 'grace@example.com', 'grace@example.com', 'ext-1', 'Grace', 'grace', 'gra', 'example', TRUE, '{"name": {"givenName": "Gra", "familyName": "Example"}, "emails": [{"type": "work", "value": "grace@example.com", "primary": true}], "displayName": "Grace"}', '2026-01-05 09:00:00', '2026-01-05 09:00:00', 1, NULL);
INSERT INTO "scim_user" ("id", "user_name", "user_name_key", "external_id", "display_name", "display_name_key", "given_name_key", "family_name_key", "active", "document", "created", "last_modified", "version", "deleted_at") VALUES ('fcc7d6ca03eb41f0bff6cadb54ba032c', 'ada@example.com', 'ada@example.com', 'ext-0', 'Ada', 'ada', 'ada', 'example', TRUE, '{"name": {"givenName": "Ada", "familyName": "Example"}, "emails": [{"type": "work", "value": "ada@example.com", "primary": true}], "displayName": "Ada"}', '2026-01-05 09:00:00', '2026-01-05 09:00:00', 1, NULL);
INSERT INTO "control_role_assignment" ("id", "user", "role", "source", "via_group", "created", "granted_by") VALUES (1, 'fcc7d6ca03eb41f0bff6cadb54ba032c', 'operator', 'idp', 'engineering', '2026-01-05 09:00:00', 'token:Okta SCIM');
INSERT INTO "control_role_assignment" ("id", "user", "role", "source", "via_group", "created", "granted_by") VALUES (2, '14212b8c97774ce1880ff1911f4e7cf4', 'viewer', 'manual', '', '2026-01-05 09:00:00', 'operator:seed');
SELECT setval(pg_get_serial_sequence('control_role_assignment', 'id'), (SELECT max(id) FROM control_role_assignment));
INSERT INTO "control_session" ("id", "secret_hash", "user", "created", "last_seen", "expires_at", "ended_at", "end_reason") VALUES (1, 'c627eb977a355b9981cbdec395395dd5a53fa259ee5f2ba0126c6fd982f29f5b', 'fcc7d6ca03eb41f0bff6cadb54ba032c', '2026-01-05 09:00:00', '2026-01-05 09:00:00', '2026-01-05 21:00:00', NULL, NULL);
SELECT setval(pg_get_serial_sequence('control_session', 'id'), (SELECT max(id) FROM control_session));
INSERT INTO "scim_membership" ("group", "user", "created") VALUES ('24f6e0fd1ecc46278f79486e4498b450', 'fcc7d6ca03eb41f0bff6cadb54ba032c', '2026-01-05 09:00:00');
INSERT INTO "scim_user_email" ("id", "user", "value", "value_key", "type", "primary") VALUES (1, 'fcc7d6ca03eb41f0bff6cadb54ba032c', 'ada@example.com', 'ada@example.com', 'work', TRUE);
INSERT INTO "scim_user_email" ("id", "user", "value", "value_key", "type", "primary") VALUES (2, '14212b8c97774ce1880ff1911f4e7cf4', 'grace@example.com', 'grace@example.com', 'work', TRUE);
SELECT setval(pg_get_serial_sequence('scim_user_email', 'id'), (SELECT max(id) FROM scim_user_email));
INSERT INTO "sso_group_role_mapping" ("id", "group_name", "group_name_key", "role", "created", "created_by") VALUES (1, 'Engineering', 'engineering', 'operator', '2026-01-05 09:00:00', 'operator:seed');
SELECT setval(pg_get_serial_sequence('sso_group_role_mapping', 'id'), (SELECT max(id) FROM sso_group_role_mapping));
INSERT INTO "worker_job_run" ("id", "job", "started", "finished", "outcome", "changed", "summary", "error", "holder") VALUES (1, 'reconcile_roles', '2026-01-05 09:00:00', '2026-01-05 09:00:00', 'ok', 1, '1 user', '', 'host-a:123');
SELECT setval(pg_get_serial_sequence('worker_job_run', 'id'), (SELECT max(id) FROM worker_job_run));
INSERT INTO "worker_lease" ("name", "holder", "expires_at") VALUES ('worker', 'host-a:123', 1767603660.0);
