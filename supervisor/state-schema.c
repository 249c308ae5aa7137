/* The schema, as the list of migrations that build it. Never edit a migration
 * that has shipped: add the next one and bump STATE_SCHEMA_VERSION. The CHECK
 * constraints repeat the coarse rules of tenant.c so that a row written by
 * another tool cannot be wildly wrong; the exact rules are re-checked on load. */
#include "state-int.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *const state_migrations[STATE_SCHEMA_VERSION] = {
	/* 0 -> 1: plans, tenants, their status and events. */
	"CREATE TABLE plans ("
	"  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 32),"
	"  cpu_request_m INTEGER NOT NULL CHECK (cpu_request_m > 0),"
	"  cpu_limit_m INTEGER NOT NULL CHECK (cpu_limit_m >= cpu_request_m),"
	"  memory_request_mib INTEGER NOT NULL CHECK (memory_request_mib > 0),"
	"  memory_limit_mib INTEGER NOT NULL CHECK (memory_limit_mib >= memory_request_mib),"
	"  storage_gib INTEGER NOT NULL CHECK (storage_gib >= 0),"
	"  pods INTEGER NOT NULL CHECK (pods > 0)"
	") STRICT;"
	/* Storage is a tenant's own volumes; its databases and buckets live in the
	 * platform's PostgreSQL and MinIO, which are budgeted separately. */
	"INSERT INTO plans VALUES"
	"  ('small', 250, 500, 512, 768, 1, 10),"
	"  ('medium', 500, 1000, 1024, 1536, 2, 20),"
	"  ('large', 1000, 2000, 2048, 3072, 5, 40);"
	"CREATE TABLE tenants ("
	"  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 63),"
	"  host TEXT NOT NULL UNIQUE CHECK (length(host) BETWEEN 1 AND 253),"
	"  plan TEXT NOT NULL REFERENCES plans(name) ON UPDATE RESTRICT ON DELETE RESTRICT,"
	"  app_chart TEXT CHECK (app_chart IS NULL OR length(app_chart) BETWEEN 1 AND 63),"
	"  app_version TEXT CHECK (app_version IS NULL"
	"    OR (app_chart IS NOT NULL AND length(app_version) BETWEEN 1 AND 64)),"
	"  values_json TEXT NOT NULL DEFAULT '{}'"
	"    CHECK (json_valid(values_json) AND json_type(values_json) = 'object'),"
	"  suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1)),"
	"  generation INTEGER NOT NULL DEFAULT 1 CHECK (generation >= 1),"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	") STRICT;"
	/* Any writer's change is a new generation, so the daemon notices it even when
	 * another tool forgot to bump it; going backwards is refused. */
	"CREATE TRIGGER tenants_generation_bump AFTER UPDATE ON tenants"
	"  WHEN NEW.generation = OLD.generation BEGIN"
	"  UPDATE tenants SET generation = OLD.generation + 1 WHERE name = NEW.name;"
	"END;"
	"CREATE TRIGGER tenants_generation_monotonic BEFORE UPDATE ON tenants"
	"  WHEN NEW.generation < OLD.generation BEGIN"
	"  SELECT RAISE(ABORT, 'tenants.generation must not decrease');"
	"END;"
	/* No foreign key to tenants: status outlives the desired row while the
	 * daemon deletes the tenant. */
	"CREATE TABLE tenant_status ("
	"  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 255),"
	"  phase TEXT NOT NULL"
	"    CHECK (phase IN ('Pending', 'Provisioning', 'Ready', 'Failed', 'Deleting')),"
	"  message TEXT NOT NULL DEFAULT '' CHECK (length(message) <= 1023),"
	"  observed_generation INTEGER NOT NULL DEFAULT 0 CHECK (observed_generation >= 0),"
	"  updated_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  tenant TEXT NOT NULL DEFAULT '' CHECK (length(tenant) <= 255),"
	"  at INTEGER NOT NULL,"
	"  type TEXT NOT NULL CHECK (type IN ('Normal', 'Warning')),"
	"  reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 63),"
	"  message TEXT NOT NULL CHECK (length(message) <= 1023)"
	") STRICT;"
	"CREATE INDEX events_by_tenant ON events (tenant, id);"
	"CREATE TRIGGER events_bounded AFTER INSERT ON events BEGIN"
	"  DELETE FROM events WHERE tenant = NEW.tenant AND id <= ("
	"    SELECT id FROM events WHERE tenant = NEW.tenant ORDER BY id DESC"
	"    LIMIT 1 OFFSET " STR(STATE_EVENTS_PER_TENANT) ");"
	"END;",

	/* 1 -> 2: what the supervisor reports about k3s, the API and the platform. */
	"CREATE TABLE component_status ("
	"  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 63),"
	"  phase TEXT NOT NULL CHECK (length(phase) BETWEEN 1 AND 31),"
	"  message TEXT NOT NULL DEFAULT '' CHECK (length(message) <= 1023),"
	"  pid INTEGER NOT NULL DEFAULT 0 CHECK (pid >= 0),"
	"  restarts INTEGER NOT NULL DEFAULT 0 CHECK (restarts >= 0),"
	"  started_at INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER NOT NULL"
	") STRICT;",

	/* 2 -> 3: the certificate each tenant's host is served with, as the
	 * reconciler last rendered it (the metrics endpoint reads it without
	 * parsing a certificate). Gone with the tenant's status row. */
	"CREATE TABLE tenant_certificates ("
	"  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 255),"
	"  source TEXT NOT NULL CHECK (source IN ('ca', 'operator')),"
	"  not_after INTEGER NOT NULL CHECK (not_after > 0),"
	"  updated_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE TRIGGER tenant_certificates_follow_status AFTER DELETE ON tenant_status BEGIN"
	"  DELETE FROM tenant_certificates WHERE name = OLD.name;"
	"END;",

	/* 3 -> 4: how far a tenant's app may scale out. Its pods share the
	 * plan: each gets 1/max_replicas of it, so max_replicas pods fit the
	 * quota; 1 means no autoscaling. */
	"ALTER TABLE plans ADD COLUMN max_replicas INTEGER NOT NULL DEFAULT 1"
	"  CHECK (max_replicas BETWEEN 1 AND " STR(PLAN_MAX_REPLICAS) ");"
	"UPDATE plans SET max_replicas = 2 WHERE name = 'medium';"
	"UPDATE plans SET max_replicas = 4 WHERE name = 'large';",
};
