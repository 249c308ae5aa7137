/* Kubernetes REST client on libcurl, for what Outpost needs: get, list by label
 * (paginated), create, server-side apply, JSON patch and delete.
 *
 * TLS is always verified (peer and host name) against the kubeconfig's CA; the
 * client certificate, key and CA are handed to libcurl from memory. Requests
 * run several at a time on one curl multi handle (bounded by max_inflight)
 * over reused connections.
 *
 * Retries: 429 (after its Retry-After), 500/502/503/504 and connection
 * failures are retried with exponential back-off and jitter, bounded by a
 * number of attempts and a total time. 400/403/404/409/410/422 are never
 * retried: the answer goes to the caller with the HTTP status, the Status
 * reason and message, and the object named. */
#ifndef OUTPOST_KUBE_H
#define OUTPOST_KUBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "kubeconfig.h"

/* The field manager of every write (managedFields entries "outpost"). */
#define KUBE_FIELD_MANAGER "outpost"

/* The label helm-controller puts on the install Job of a HelmChart
 * (helm-install-<name>): the chart's name. */
#define KUBE_LABEL_HELM_CHART "helmcharts.helm.cattle.io/chart"

/* One kind Outpost handles: where its objects live in the REST API. */
struct kube_resource {
	const char *kind;
	const char *group;   /* "" for the core group */
	const char *version;
	const char *plural;
	bool namespaced;
};

/* The kinds Outpost renders (and lists, once per pass), Namespace first. */
extern const struct kube_resource kube_resources[];
extern const size_t kube_nresources;

/* The entry for `kind` ("Secret", "HelmChart"), or NULL. */
const struct kube_resource *kube_resource_find(const char *kind);

struct kube_options {
	unsigned max_inflight;  /* requests in flight at once (default 8) */
	unsigned max_attempts;  /* per request, first try included (default 6) */
	unsigned retry_budget_ms; /* total time a request may spend retrying (default 30000) */
	unsigned timeout_ms;    /* one attempt (default 30000) */
	unsigned backoff_ms;    /* first back-off step (default 100), doubled per attempt */
};

enum kube_verb { KUBE_GET, KUBE_CREATE, KUBE_APPLY, KUBE_PATCH, KUBE_DELETE, KUBE_LIST, KUBE_NVERBS };

struct kube_stats {
	unsigned long requests[KUBE_NVERBS]; /* HTTP attempts sent, retries included */
	unsigned long retries;
	unsigned long failures;              /* requests that ended in an error */
};

/* What came back for one request. */
struct kube_result {
	long http;            /* HTTP status; 0 when no answer came (connection failure) */
	char reason[64];      /* Status.reason ("NotFound", "AlreadyExists"), or curl's error name */
	char message[512];    /* Status.message or curl's error text */
	json_t *body;         /* parsed answer of a 2xx GET (borrowed: valid during the
			       * callback); NULL for queued writes, whose answers are not parsed */
};

struct kube_request;
typedef void (*kube_done_fn)(const struct kube_request *req, const struct kube_result *res, void *ud);

/* A request queued with kube_submit. The client copies what it needs. */
struct kube_request {
	enum kube_verb verb;            /* GET, CREATE, APPLY, PATCH or DELETE */
	const struct kube_resource *res;
	const char *ns;                 /* NULL for cluster-scoped kinds */
	const char *name;
	const char *body;               /* CREATE/APPLY: the object as JSON; PATCH: a JSON patch */
	kube_done_fn done;
	void *ud;
};

struct kube;

int kube_new(const struct kubeconfig *kc, const struct kube_options *opt, struct kube **out,
	     struct err *e);
void kube_free(struct kube *k);

/* Queues one request; it runs during kube_run. Returns 0 or -ENOMEM. */
int kube_submit(struct kube *k, const struct kube_request *req, struct err *e);

/* Runs every queued request to completion (success, final error or retries
 * exhausted), at most max_inflight at a time, calling each `done` once.
 * Returns 0, or -1 only when the client itself failed (out of memory). */
int kube_run(struct kube *k, struct err *e);

/* Whether an answer with this HTTP code and Status message is worth the same
 * request again (throttling, server trouble), or would only fail again. */
bool kube_retryable_answer(long code, const char *message);

/* One request, synchronously. On success, *body (if not NULL) receives the
 * answer (caller decrefs). On failure `e` reads "<verb> <Kind> <ns>/<name>:
 * <http> <reason>: <message>" and the return is -1, or -ENOENT for a 404. */
int kube_call(struct kube *k, const struct kube_request *req, json_t **body, struct err *e);

/* GET of a path outside the resource tree (/readyz, /livez): 0 on a 2xx,
 * else -1 with e set. The answer's text is not kept. */
int kube_get_path(struct kube *k, const char *path, struct err *e);

/* Lists `res` across all namespaces with a label selector, `limit` items per
 * page (0: one page), following `continue` tokens. `item` is called for every
 * object; if a continue token expires (410) the list starts over in one page
 * and `item` is first called with NULL, meaning "forget what you were given". */
typedef int (*kube_item_fn)(json_t *item, void *ud);
int kube_list(struct kube *k, const struct kube_resource *res, const char *selector,
	      unsigned limit, kube_item_fn item, void *ud, struct err *e);

/* kube_list into one array: 0 and *items (decref), or kube_list's -1/-ENOENT
 * with e set and *items NULL. */
int kube_list_array(struct kube *k, const struct kube_resource *res, const char *selector,
		    unsigned limit, json_t **items, struct err *e);

const struct kube_stats *kube_stats(const struct kube *k);

/* Formats a failed result the way kube_call does (into `e`, EXIT_RUNTIME). */
int kube_result_err(const struct kube_request *req, const struct kube_result *res,
		    struct err *e);

const char *kube_verb_name(enum kube_verb v);

#endif
