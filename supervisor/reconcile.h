/* The tenant reconciler: makes the cluster match the tenants of the state file.
 *
 * One pass: load the desired tenants and plans -> render each tenant -> list
 * what exists, once per kind, by the label app.kubernetes.io/managed-by=outpost
 * (paginated) -> diff (pure, diff.h) -> execute with bounded concurrency
 * (Namespaces first, then everything else) -> write each tenant's status and
 * events, only where they changed. One tenant's failure never stops the others.
 *
 * Loop API for the supervisor's event loop (the daemon):
 *
 *     struct reconcile *r;
 *     reconcile_new(&cfg, &r, &e);              // opens the state file, reads the kubeconfig
 *     // on a timer (every <= 1 s) or after reconcile_next_deadline():
 *     if (reconcile_wants_pass(r, now_ms))     // cheap: PRAGMA data_version, timers
 *             reconcile_pass(r, &summary, &e); // blocks for one pass
 *     reconcile_free(r);
 *
 * reconcile_wants_pass is true when another process committed to the state
 * file (noticed through PRAGMA data_version, no re-read of the tenants), when
 * the full resync period (default 10 min) has passed, or when the previous
 * pass left work in progress (Jobs running, a teardown waiting) or failed, in
 * which case it retries after a short, growing delay.
 *
 * A pass blocks. Its length is bounded: every request has a bounded number of
 * attempts and a retry budget (kube_options), and a pass stops submitting new
 * work once cfg.pass_budget_ms is spent (what is left is picked up by the next
 * pass, which wants_pass then asks for at once). After each list and each
 * batch of at most 256 requests the pass calls cfg.progress (if set), where
 * the daemon can ping its watchdog. A batch lasts at most its requests' time
 * plus one retry budget (30 s by default), so a watchdog period of a minute
 * or more is safe.
 *
 * Platform readiness: the parts of a tenant that need a platform service (its
 * provisioning Jobs, and a removed tenant's deprovisioning Jobs; see
 * render_needs) are created only when that service's component and the
 * `provision` component (the scripts) are ready. Until then the tenant is
 * Provisioning (or Deleting) "waiting for <components>", and everything else
 * of it (namespace, quota, policies, Secrets, the app) goes ahead. The
 * supervisor says what is ready with reconcile_set_ready
 * (cfg.readiness_by_caller); without it (`outpost reconcile --once`) a pass
 * reads the component rows of the state file, which the supervisor writes: a
 * component is ready when its row's phase is Ready, and when the file holds
 * no row for any of them (no supervisor ever ran) all count as ready. */
#ifndef OUTPOST_RECONCILE_H
#define OUTPOST_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "render.h"
#include "worker-timing.h"

/* A targeted pass looks at this many tenants at most; beyond, a full pass. */
#define RECONCILE_TARGETED_MAX 64

struct reconcile_config {
	const char *state_path;
	const char *kubeconfig_path;   /* NULL: KUBECONFIG_DEFAULT */
	const char *datadir;           /* charts: apps/<chart>/Chart.yaml gives the version */
	const struct render_config *render; /* NULL: render_config_default */
	/* The appliance CA (tls.h), created there if missing: every tenant host
	 * gets an HTTPS certificate from it, kept in the tenant's TLS Secret and
	 * issued again at two thirds of its life. NULL: plain HTTP. A dry run
	 * shows the Secret with placeholder text and needs no CA. */
	const char *ca_dir;
	uint64_t resync;               /* full resync period (µs); 0: 10 minutes */
	unsigned max_inflight;         /* requests in flight; 0: 8 */
	unsigned list_limit;           /* items per list page; 0: 250 */
	unsigned pass_budget_ms;       /* 0: 120000 */
	/* A process taking over from an earlier one (the supervisor's worker):
	 * its schedule. full_in set: the status rows are those of a full pass the
	 * earlier process made, and passes before full_in are targeted. due_in
	 * set: no pass is due before it (the earlier one's retry or resync)
	 * unless the state file changes. retry: the back-off goes on rather than
	 * restart. NULL: a fresh start, a full pass at once. */
	const struct worker_timing *handover;
	/* Dry run: no cluster. The pass renders every valid tenant and writes the
	 * objects it would apply to `dry_run_out` as one JSON List (credentials
	 * redacted); nothing is written to the state file. */
	FILE *dry_run_out;
	/* Only targeted passes (outpost reconcile --once --changed): see
	 * reconcile_pass. */
	bool changed_only;
	/* Platform readiness comes from reconcile_set_ready, and nothing is
	 * ready until it says so; else from the state file's component rows. */
	bool readiness_by_caller;
	void (*progress)(void *ud);
	void *progress_ud;
};

struct reconcile_summary {
	bool full;                     /* a full pass, else a targeted one */
	size_t tenants;                /* desired tenants the pass looked at */
	size_t ready, provisioning, pending, failed, deleting;
	size_t removed;                /* status rows dropped: teardown finished */
	size_t created, applied, deleted, action_errors;
	size_t repaired;               /* of the applied: drift repairs (full passes) */
	size_t moved;                  /* field ownership moved from our POST's entry to our Apply entry */
	size_t status_writes;          /* status rows and events written */
	unsigned long requests;        /* HTTP requests this pass (retries included) */
	unsigned long writes;          /* of which create/apply/patch/delete */
	unsigned long retries;
	uint64_t elapsed_ms;
	bool incomplete;               /* the pass budget ran out */
	char first_failure[300];       /* "<tenant>: <reason>" of the first Failed tenant */
};

struct reconcile;

int reconcile_new(const struct reconcile_config *cfg, struct reconcile **out, struct err *e);
void reconcile_free(struct reconcile *r);

/* Whether a pass is due at `now` (clock_mono_us). Returns false (and sets nothing) when the
 * state file cannot be read; the next pass then reports the error. */
bool reconcile_wants_pass(struct reconcile *r, uint64_t now);

/* Whether platform component `component` (charts/platform.json's name:
 * "postgresql", "redis", "minio", "keycloak", "provision") is ready; other
 * names are ignored. Returns true when it has just become ready: then
 * reconcile_wants_pass is true too, so waiting tenants go on at once. */
bool reconcile_set_ready(struct reconcile *r, const char *component, bool ready);

/* When a pass will next be due at the latest (resync or retry), for a timer;
 * changes of the state file still need polling reconcile_wants_pass. */
uint64_t reconcile_next_deadline(const struct reconcile *r);

/* When the next full pass is due (clock_mono_us); 0 when the next pass is
 * full whenever it runs. */
uint64_t reconcile_next_full(const struct reconcile *r);

/* What the next process takes over (reconcile_config.handover), as seen at
 * `now`. */
struct worker_timing reconcile_handover(const struct reconcile *r, uint64_t now);

/* One pass. Returns 0 when every tenant was handled (tenants may still be
 * Failed: see summary->failed), or -1 when the pass itself could not run
 * (state file unreadable, or a list failed: then nothing was changed in the
 * cluster) or its status rows could not be written after the writes.
 *
 * Full or targeted: the first pass, and then one every resync period, is
 * full (every tenant, every owned object, so drift and leftovers are found:
 * an owned object whose hash matches but which lost a field the rendering
 * sets, or holds another value there (drift.h), is applied again, with the
 * event DriftRepaired; Jobs are left out).
 * In between, a pass is targeted: the status rows say which tenants the last
 * passes left in sync, and only the others are looked at: tenants without a
 * status row or whose generation changed since it was observed, tenants not
 * Ready, and removed tenants whose row remains. Their objects are listed with
 * `outpost.dev/tenant in (...)`, so a change among 1,000 tenants costs a few
 * small lists, and a pass with nothing to look at sends no request at all.
 * More than RECONCILE_TARGETED_MAX such tenants make it a full pass. */
int reconcile_pass(struct reconcile *r, struct reconcile_summary *sum, struct err *e);

#endif
