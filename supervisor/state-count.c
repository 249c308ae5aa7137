/* Tenants by phase in one query, for the metrics endpoint: the supervising
 * process answers a scrape from its event loop, so it reads counts, not the
 * rows (a status message is up to 1 KiB, times every tenant). */
#include "state-int.h"

#include <string.h>

int state_status_count(struct state *st, uint64_t *counts, struct err *e)
{
	/* Desired tenants the reconciler has not written a row for yet are
	 * Pending; a removed tenant's row stays (Deleting) until its teardown
	 * ends. The primary keys make both sides index lookups. */
	sqlite3_stmt *s = state_prepare(
		st, "SELECT phase, count(*) FROM tenant_status GROUP BY phase "
		    "UNION ALL SELECT 'Pending', count(*) FROM tenants "
		    "WHERE name NOT IN (SELECT name FROM tenant_status)", e);
	enum tenant_phase p;
	int rc;

	if (!s)
		return -1;
	memset(counts, 0, (TENANT_PHASE_DELETING + 1) * sizeof(*counts));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *phase = (const char *)sqlite3_column_text(s, 0);
		/* The CHECK constraint keeps phase to the five names. */
		if (phase && tenant_phase_parse(phase, &p) == 0)
			counts[p] += (uint64_t)sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE)
		state_sql_fail(st, e, "state: count tenants by phase");
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}
