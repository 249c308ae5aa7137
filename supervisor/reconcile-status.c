/* What a pass tells: each tenant's status row and an event per phase change,
 * an event per drift repair, and the end of finished teardowns. Written only
 * where something changed, so a pass over tenants in sync commits nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "reconcile-pass.h"

const struct tenant_status *status_row_find(const struct tenant_status *rows, size_t n,
					    const char *name)
{
	size_t lo = 0, hi = n;

	/* state_status_list returns rows ordered by name. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(rows[mid].name, name);
		if (!c)
			return &rows[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static enum tenant_phase phase_of(const struct pass *p, size_t i, const char **msg)
{
	const struct diff_report *rep = &p->diff.reports[i];

	*msg = rep->reason;
	if (p->error[i]) {
		*msg = p->error[i];
		return TENANT_PHASE_FAILED;
	}
	switch (rep->status) {
	case DIFF_PENDING:
		return rep->nactions ? TENANT_PHASE_PROVISIONING : TENANT_PHASE_PENDING;
	case DIFF_PROVISIONING:
		return TENANT_PHASE_PROVISIONING;
	case DIFF_READY:
		return TENANT_PHASE_READY;
	case DIFF_FAILED:
		return TENANT_PHASE_FAILED;
	case DIFF_DELETING:
		return TENANT_PHASE_DELETING;
	}
	return TENANT_PHASE_FAILED;
}

static void summary_count_phase(struct reconcile_summary *sum, enum tenant_phase ph)
{
	switch (ph) {
	case TENANT_PHASE_PENDING: sum->pending++; break;
	case TENANT_PHASE_PROVISIONING: sum->provisioning++; break;
	case TENANT_PHASE_READY: sum->ready++; break;
	case TENANT_PHASE_FAILED: sum->failed++; break;
	case TENANT_PHASE_DELETING: sum->deleting++; break;
	}
}

/* The status of report i, counted in the summary; the row and an event are
 * written when it differs from the row the pass started with. */
static int status_write_report(struct pass *p, size_t i, struct err *e)
{
	const struct diff_report *rep = &p->diff.reports[i];
	const struct tenant_status *old = status_row_find(p->rows, p->nrows, rep->tenant);
	struct tenant_status ts = { 0 };
	const char *msg;

	ts.phase = phase_of(p, i, &msg);
	summary_count_phase(p->sum, ts.phase);
	if (ts.phase == TENANT_PHASE_FAILED && !p->sum->first_failure[0])
		snprintf(p->sum->first_failure, sizeof(p->sum->first_failure), "%s: %.250s",
			 rep->tenant, msg);
	snprintf(ts.name, sizeof(ts.name), "%s", rep->tenant);
	snprintf(ts.message, sizeof(ts.message), "%s", msg);
	ts.observed_generation = i < p->tenants.n ? p->tenants.v[i].generation :
				 old ? old->observed_generation : 0;
	if (old && old->phase == ts.phase && !strcmp(old->message, ts.message) &&
	    old->observed_generation == ts.observed_generation)
		return 0;
	if (state_status_upsert(p->st, &ts, e) < 0)
		return -1;
	p->sum->status_writes++;
	if (old && old->phase == ts.phase)
		return 0;
	if (state_event_append(p->st, rep->tenant, ts.phase == TENANT_PHASE_FAILED,
			       tenant_phase_name(ts.phase), e, "%s%s%s",
			       tenant_phase_name(ts.phase), ts.message[0] ? ": " : "",
			       ts.message) < 0)
		return -1;
	p->sum->status_writes++;
	log_emit(ts.phase == TENANT_PHASE_FAILED ? LOG_WARNING : LOG_INFO, RECONCILE_LOG,
		 rep->tenant, "%s%s%s", tenant_phase_name(ts.phase),
		 ts.message[0] ? ": " : "", ts.message);
	return 0;
}

/* Drift is no phase change: each repair is an event of its own, so an
 * operator sees which edit was undone. */
static int status_write_repairs(struct pass *p, struct err *e)
{
	for (size_t i = 0; i < p->nrepaired; i++) {
		const char *tenant = p->repaired[i], *what = tenant + strlen(tenant) + 1;
		if (state_event_append(p->st, tenant, false, "DriftRepaired", e,
				       "%s: fields changed outside Outpost were put back", what) < 0)
			return -1;
		p->sum->status_writes++;
		log_emit(LOG_INFO, RECONCILE_LOG, tenant, "drift repaired: %s", what);
	}
	return 0;
}

/* A row with neither a desired tenant nor anything left in the cluster:
 * the teardown is finished, and the row goes. */
static int status_drop_finished(struct pass *p, struct err *e)
{
	for (size_t i = 0; i < p->nrows; i++) {
		const char *name = p->rows[i].name;
		bool live = !pass_is_target(p, name);
		for (size_t k = 0; k < p->diff.nreports && !live; k++)
			live = !strcmp(p->diff.reports[k].tenant, name);
		if (live)
			continue;
		if (state_status_delete(p->st, name, e) < 0 ||
		    state_event_append(p->st, name, false, "Deleted", e,
				       "teardown finished: nothing of the tenant is left") < 0)
			return -1;
		p->sum->removed++;
		p->sum->status_writes += 2;
		log_emit(LOG_INFO, RECONCILE_LOG, name, "deleted");
	}
	return 0;
}

/* Outpost never renews an operator's certificate: within
 * TLS_EXPIRY_WARN_DAYS of its end the tenant gets a warning event, once per
 * certificate (the message names the date). */
static int status_write_expiring(struct pass *p, struct err *e)
{
	time_t now = time(NULL);

	for (size_t i = 0; p->tls && i < p->tenants.n; i++) {
		const struct tls_pair *c = &p->tls[i];
		const char *name = p->tenants.v[i].name;
		struct state_event *ev = NULL;
		size_t nev = 0;
		char msg[300], day[32];
		bool told = false;
		struct tm tm;

		if (!c->from_operator || c->not_after - now >= (time_t)TLS_EXPIRY_WARN_DAYS * 86400)
			continue;
		gmtime_r(&c->not_after, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d %H:%M UTC", &tm);
		snprintf(msg, sizeof(msg), "the operator's certificate for %s expires on %s: import a new one",
			 p->tenants.v[i].host, day);
		if (state_event_list(p->st, name, 20, &ev, &nev, e) < 0)
			return -1;
		for (size_t k = 0; k < nev && !told; k++)
			told = !strcmp(ev[k].reason, "CertificateExpiring") && !strcmp(ev[k].message, msg);
		free(ev);
		if (told)
			continue;
		if (state_event_append(p->st, name, true, "CertificateExpiring", e, "%s", msg) < 0)
			return -1;
		p->sum->status_writes++;
		log_emit(LOG_WARNING, RECONCILE_LOG, name, "%s", msg);
	}
	return 0;
}

/* The certificate each rendered tenant's host is served with, for the
 * metrics endpoint; written only when it changed. A tenant whose writes
 * failed in this pass keeps its row: the cluster may still serve the old
 * certificate. (Reports and p->tls are both in p->tenants' order.) */
static int status_write_certificates(struct pass *p, struct err *e)
{
	for (size_t i = 0; p->tls && i < p->tenants.n; i++) {
		const struct tls_pair *c = &p->tls[i];
		struct tenant_certificate row = { .not_after = c->not_after };
		int rc;

		if (!c->cert_pem || c->not_after <= 0 || (i < p->diff.nreports && p->error[i]))
			continue;
		snprintf(row.name, sizeof(row.name), "%s", p->tenants.v[i].name);
		snprintf(row.source, sizeof(row.source), "%s", c->from_operator ? "operator" : "ca");
		if ((rc = state_certificate_set(p->st, &row, e)) < 0)
			return -1;
		p->sum->status_writes += (size_t)rc;
	}
	return 0;
}

int pass_status_write(struct pass *p, struct err *e)
{
	if (state_begin(p->st, e) < 0)
		return -1;
	for (size_t i = 0; i < p->diff.nreports; i++)
		if (status_write_report(p, i, e) < 0)
			goto fail;
	if (status_write_repairs(p, e) < 0 || status_drop_finished(p, e) < 0 ||
	    status_write_expiring(p, e) < 0 || status_write_certificates(p, e) < 0 ||
	    state_commit(p->st, e) < 0)
		goto fail;
	return 0;
fail:
	state_rollback(p->st);
	return -1;
}
