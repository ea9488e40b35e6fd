-- 0001_baseline (postgresql): the schema of trident-scim 0.1.0, exactly as Pony 0.7.20 created it
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
INSERT INTO "schema_meta" ("key", "value") VALUES ('schema_version', '1');
