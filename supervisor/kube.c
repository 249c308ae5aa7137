#include "kube.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "clock.h"
#include "util.h"

const struct kube_resource kube_resources[] = {
	{ "Namespace", "", "v1", "namespaces", false },
	{ "ResourceQuota", "", "v1", "resourcequotas", true },
	{ "LimitRange", "", "v1", "limitranges", true },
	{ "NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", true },
	{ "ServiceAccount", "", "v1", "serviceaccounts", true },
	{ "Secret", "", "v1", "secrets", true },
	{ "HelmChart", "helm.cattle.io", "v1", "helmcharts", true },
	{ "Job", "batch", "v1", "jobs", true },
};
const size_t kube_nresources = sizeof(kube_resources) / sizeof(kube_resources[0]);

static const char *const verb_names[KUBE_NVERBS] = {
	[KUBE_GET] = "get", [KUBE_CREATE] = "create", [KUBE_APPLY] = "apply",
	[KUBE_PATCH] = "patch", [KUBE_DELETE] = "delete", [KUBE_LIST] = "list",
};

/* Every write names its field manager. Applies force: Outpost is the one
 * owner of what it renders. A delete goes in the background: the object
 * now, its dependents after. */
static const char *const verb_queries[KUBE_NVERBS] = {
	[KUBE_CREATE] = "fieldManager=" KUBE_FIELD_MANAGER,
	[KUBE_APPLY] = "fieldManager=" KUBE_FIELD_MANAGER "&force=true",
	[KUBE_PATCH] = "fieldManager=" KUBE_FIELD_MANAGER,
	[KUBE_DELETE] = "propagationPolicy=Background",
};

const char *kube_verb_name(enum kube_verb v)
{
	return verb_names[v];
}

const struct kube_resource *kube_resource_find(const char *kind)
{
	for (size_t i = 0; i < kube_nresources; i++)
		if (!strcmp(kube_resources[i].kind, kind))
			return &kube_resources[i];
	return NULL;
}

/* One request on its way: the copy of the caller's request, its attempts
 * and the answer being received. */
struct xfer {
	struct kube_request req;
	char *url;
	char *body;
	size_t body_len;
	unsigned attempt;
	uint64_t first_ms;     /* when the first attempt started */
	uint64_t not_before;   /* back-off: not sent again before this */
	long retry_after_ms;   /* from the last answer's Retry-After, or -1 */
	char *resp;
	size_t resp_len, resp_cap;
	struct xfer *next;
	/* kube_call/kube_list collect their one answer here. */
	struct kube_result *sink;
	json_t **sink_body;
	bool raw;              /* kube_get_path: the answer is not JSON and is not kept */
};

struct slot {
	CURL *easy;
	struct xfer *x;  /* NULL when idle */
};

struct kube {
	char *server;
	struct curl_blob ca, cert, key;
	struct curl_slist *hdr_json, *hdr_apply, *hdr_patch; /* (token,) Accept, Content-Type */
	struct kube_options opt;
	CURLM *multi;
	struct slot *slots;
	struct xfer *queue, *queue_tail; /* waiting to be sent (or re-sent after a back-off) */
	struct kube_stats stats;
	uint64_t rng;
};

static uint64_t now_ms(void)
{
	return clock_mono_us() / USEC_PER_MSEC;
}

/* Jitter only has to spread retries apart, not be unpredictable. */
static uint64_t next_rand(struct kube *k)
{
	k->rng ^= k->rng << 13;
	k->rng ^= k->rng >> 7;
	k->rng ^= k->rng << 17;
	return k->rng;
}

static void curl_init_once(void)
{
	static int done;
	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = 1;
	}
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	if (x->resp_len + len + 1 > x->resp_cap) {
		size_t cap = x->resp_cap ? x->resp_cap : 4096;
		while (cap < x->resp_len + len + 1)
			cap *= 2;
		char *p = realloc(x->resp, cap);
		if (!p)
			return 0; /* makes curl fail the transfer: reported as an error */
		x->resp = p;
		x->resp_cap = cap;
	}
	memcpy(x->resp + x->resp_len, data, len);
	x->resp_len += len;
	x->resp[x->resp_len] = '\0';
	return len;
}

/* Retry-After in seconds (the form the API server sends). */
static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		char buf[32];
		size_t m = len - 12 < sizeof(buf) - 1 ? len - 12 : sizeof(buf) - 1;
		memcpy(buf, data + 12, m);
		buf[m] = '\0';
		long secs = strtol(buf, NULL, 10);
		if (secs >= 0)
			x->retry_after_ms = secs * 1000;
	}
	return len;
}

/* An easy handle with what never changes between requests: credentials and
 * verification. Verification cannot be turned off: there is no option for it. */
static CURL *easy_new(struct kube *k)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	if (curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &k->ca) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (k->cert.len && curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &k->cert) != CURLE_OK) ||
	    (k->key.len && curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &k->key) != CURLE_OK)) {
		curl_easy_cleanup(c);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)k->opt.timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "outpost");
	return c;
}

/* Headers of every request: the token (if the kubeconfig has one), JSON
 * answers, and the body's content type. */
static struct curl_slist *headers(const char *auth, const char *content_type)
{
	struct curl_slist *l = NULL, *n;

	if (auth && !(l = curl_slist_append(l, auth)))
		return NULL;
	n = curl_slist_append(l, "Accept: application/json");
	if (n)
		n = curl_slist_append(l = n, content_type);
	if (!n)
		curl_slist_free_all(l);
	return n;
}

int kube_new(const struct kubeconfig *kc, const struct kube_options *opt, struct kube **out,
	     struct err *e)
{
	struct kube *k = calloc(1, sizeof(*k));
	char *auth = NULL;
	bool token_ok;

	*out = NULL;
	if (!k)
		return err_errno(e, ENOMEM, "kube");
	curl_init_once();
	if (opt)
		k->opt = *opt;
	if (!k->opt.max_inflight)
		k->opt.max_inflight = 8;
	if (!k->opt.max_attempts)
		k->opt.max_attempts = 6;
	if (!k->opt.retry_budget_ms)
		k->opt.retry_budget_ms = 30000;
	if (!k->opt.timeout_ms)
		k->opt.timeout_ms = 30000;
	if (!k->opt.backoff_ms)
		k->opt.backoff_ms = 100;
	k->rng = now_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
	k->server = strdup(kc->server);
	/* Paths are appended to the server URL: no trailing '/'. */
	if (k->server)
		for (size_t n = strlen(k->server); n && k->server[n - 1] == '/';)
			k->server[--n] = '\0';
	/* The blobs point into the kubeconfig, which outlives the client. */
	k->ca = (struct curl_blob){ kc->ca, kc->ca_len, CURL_BLOB_NOCOPY };
	k->cert = (struct curl_blob){ kc->cert, kc->cert_len, CURL_BLOB_NOCOPY };
	k->key = (struct curl_blob){ kc->key, kc->key_len, CURL_BLOB_NOCOPY };
	if (kc->token) {
		size_t n = strlen(kc->token) + 32;
		if ((auth = malloc(n)))
			snprintf(auth, n, "Authorization: Bearer %s", kc->token);
	}
	token_ok = !kc->token || auth;
	k->hdr_json = headers(auth, "Content-Type: application/json");
	k->hdr_apply = headers(auth, "Content-Type: application/apply-patch+yaml");
	k->hdr_patch = headers(auth, "Content-Type: application/json-patch+json");
	if (auth) {
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
	}
	k->multi = curl_multi_init();
	k->slots = calloc(k->opt.max_inflight, sizeof(*k->slots));
	if (!k->server || !k->multi || !k->slots || !k->hdr_json || !k->hdr_apply || !k->hdr_patch ||
	    !token_ok) {
		kube_free(k);
		return err_errno(e, ENOMEM, "kube");
	}
	for (unsigned i = 0; i < k->opt.max_inflight; i++)
		if (!(k->slots[i].easy = easy_new(k))) {
			kube_free(k);
			return err_set(e, EXIT_RUNTIME, "kube: cannot set up libcurl (TLS from memory needs libcurl >= 7.77 with OpenSSL)");
		}
	curl_multi_setopt(k->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)k->opt.max_inflight);
	curl_multi_setopt(k->multi, CURLMOPT_MAXCONNECTS, (long)k->opt.max_inflight);
	*out = k;
	return 0;
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	free(x->url);
	free(x->body);
	free(x->resp);
	free(x);
}

void kube_free(struct kube *k)
{
	if (!k)
		return;
	for (unsigned i = 0; k->slots && i < k->opt.max_inflight; i++) {
		if (k->slots[i].easy) {
			curl_multi_remove_handle(k->multi, k->slots[i].easy);
			curl_easy_cleanup(k->slots[i].easy);
		}
		xfer_free(k->slots[i].x);
	}
	while (k->queue) {
		struct xfer *x = k->queue;
		k->queue = x->next;
		xfer_free(x);
	}
	free(k->slots);
	if (k->multi)
		curl_multi_cleanup(k->multi);
	curl_slist_free_all(k->hdr_json);
	curl_slist_free_all(k->hdr_apply);
	curl_slist_free_all(k->hdr_patch);
	free(k->server);
	free(k);
}

/* /api/v1[/namespaces/NS]/PLURAL[/NAME] or /apis/GROUP/VERSION/... */
static char *path_of(const struct kube *k, const struct kube_resource *r, const char *ns,
		     const char *name, const char *query)
{
	char *url = NULL;
	int n;

	n = asprintf(&url, "%s/%s%s/%s%s%s%s%s%s%s", k->server, r->group[0] ? "apis/" : "api",
		     r->group, r->version,
		     ns && r->namespaced ? "/namespaces/" : "", ns && r->namespaced ? ns : "",
		     "/", r->plural, name ? "/" : "", name ? name : "");
	if (n < 0)
		return NULL;
	if (query && *query) {
		char *q = NULL;
		n = asprintf(&q, "%s?%s", url, query);
		free(url);
		url = n < 0 ? NULL : q;
	}
	return url;
}

static struct xfer *xfer_new(struct kube *k, const struct kube_request *req, const char *query)
{
	struct xfer *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->req = *req;
	x->retry_after_ms = -1;
	/* A create is a POST to the collection; everything else names the object. */
	x->url = path_of(k, req->res, req->ns, req->verb == KUBE_CREATE ? NULL : req->name, query);
	if (req->body) {
		x->body_len = strlen(req->body);
		x->body = strdup(req->body);
	}
	if (!x->url || (req->body && !x->body)) {
		xfer_free(x);
		return NULL;
	}
	/* Names are borrowed by the caller's request; keep them valid until done. */
	x->req.body = x->body;
	return x;
}

static void enqueue(struct kube *k, struct xfer *x)
{
	x->next = NULL;
	if (k->queue_tail)
		k->queue_tail->next = x;
	else
		k->queue = x;
	k->queue_tail = x;
}

int kube_submit(struct kube *k, const struct kube_request *req, struct err *e)
{
	struct xfer *x = xfer_new(k, req, verb_queries[req->verb]);

	if (!x)
		return err_errno(e, ENOMEM, "kube: %s %s", kube_verb_name(req->verb), req->res->kind);
	enqueue(k, x);
	return 0;
}

static void start(struct kube *k, struct slot *s, struct xfer *x)
{
	CURL *c = s->easy;

	s->x = x;
	x->resp_len = 0;
	x->retry_after_ms = -1;
	if (!x->attempt++)
		x->first_ms = now_ms();
	curl_easy_setopt(c, CURLOPT_URL, x->url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_PRIVATE, s);
	switch (x->req.verb) {
	case KUBE_CREATE:
	case KUBE_APPLY:
	case KUBE_PATCH:
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)x->body_len);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, x->req.verb == KUBE_CREATE ? NULL : "PATCH");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->req.verb == KUBE_APPLY ? k->hdr_apply :
				 x->req.verb == KUBE_PATCH ? k->hdr_patch : k->hdr_json);
		break;
	default:
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, x->req.verb == KUBE_DELETE ? "DELETE" : NULL);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, k->hdr_json);
		break;
	}
	/* A GET without a name is a list. */
	k->stats.requests[x->req.verb == KUBE_GET && !x->req.name ? KUBE_LIST : x->req.verb]++;
	curl_multi_add_handle(k->multi, c);
}

bool kube_retryable_answer(long code, const char *message)
{
	/* kube-apiserver answers 500 when server-side apply cannot convert the
	 * patch to its typed form (a field of the wrong type, such as a quantity
	 * sent as a number): the same body fails the same way every time. */
	if (code == 500 && message && strstr(message, "failed to create typed patch object"))
		return false;
	return code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
}

static bool retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR: /* a connection dropped during the handshake */
		return true;
	default:
		return false;
	}
}

/* Fills reason/message from a `kind: Status` answer, if it is one. */
static void parse_status(const char *text, struct kube_result *r)
{
	json_error_t je;
	json_t *j = text ? json_loads(text, 0, &je) : NULL;
	const char *reason, *message;

	if (!j) {
		/* A proxy's or the aggregator's plain answer ("service
		 * unavailable"): its first line, printable only, is the message. */
		size_t n = 0;
		for (; text && text[n] && text[n] != '\n' && n + 1 < sizeof(r->message); n++)
			r->message[n] = (unsigned char)text[n] < 0x20 ? ' ' : text[n];
		r->message[n] = '\0';
		return;
	}
	reason = json_string_value(json_object_get(j, "reason"));
	message = json_string_value(json_object_get(j, "message"));
	if (json_is_string(json_object_get(j, "kind")) &&
	    !strcmp(json_string_value(json_object_get(j, "kind")), "Status")) {
		if (reason)
			snprintf(r->reason, sizeof(r->reason), "%s", reason);
		if (message)
			snprintf(r->message, sizeof(r->message), "%s", message);
	}
	json_decref(j);
}

static void finish(struct kube *k, struct xfer *x, struct kube_result *r)
{
	if (r->http < 200 || r->http > 299)
		k->stats.failures++;
	if (x->sink) {
		*x->sink = *r;
		if (x->sink_body) {
			*x->sink_body = r->body;
			r->body = NULL;
		}
	}
	if (x->req.done)
		x->req.done(&x->req, r, x->req.ud);
	json_decref(r->body);
	xfer_free(x);
}

/* One attempt ended: done, or queued again after a back-off. */
static void completed(struct kube *k, struct xfer *x, CURLcode rc, long http)
{
	struct kube_result r = { .http = rc == CURLE_OK ? http : 0 };
	uint64_t now = now_ms();

	if (rc == CURLE_OK && http >= 200 && http <= 299) {
		json_error_t je;
		/* Writes answer with the whole object; parse it only for a caller
		 * that reads it (most of a big pass's CPU would go there). A raw
		 * answer (kube_get_path) is not JSON at all. */
		bool wanted = !x->raw && (x->sink_body || x->req.verb == KUBE_GET);
		r.body = wanted && x->resp_len ? json_loadb(x->resp, x->resp_len, 0, &je) : NULL;
		if (wanted && x->resp_len && !r.body) {
			r.http = 0;
			snprintf(r.reason, sizeof(r.reason), "BadResponse");
			snprintf(r.message, sizeof(r.message), "answer is not JSON: %s", je.text);
		}
		finish(k, x, &r);
		return;
	}
	if (rc != CURLE_OK) {
		snprintf(r.reason, sizeof(r.reason), "ConnectionFailed");
		snprintf(r.message, sizeof(r.message), "%s", curl_easy_strerror(rc));
	} else {
		snprintf(r.reason, sizeof(r.reason), "HTTP%ld", http);
		parse_status(x->resp, &r);
	}
	if ((rc == CURLE_OK ? kube_retryable_answer(http, r.message) : retryable_curl(rc)) &&
	    x->attempt < k->opt.max_attempts) {
		/* Exponential back-off with jitter, or the server's Retry-After. */
		uint64_t step = (uint64_t)k->opt.backoff_ms << (x->attempt - 1 < 10 ? x->attempt - 1 : 10);
		uint64_t delay = step / 2 + next_rand(k) % (step / 2 + 1);
		if (rc == CURLE_OK && http == 429 && x->retry_after_ms >= 0)
			delay = (uint64_t)x->retry_after_ms + next_rand(k) % (k->opt.backoff_ms + 1);
		if (now + delay - x->first_ms <= k->opt.retry_budget_ms) {
			k->stats.retries++;
			x->not_before = now + delay;
			enqueue(k, x);
			return;
		}
	}
	finish(k, x, &r);
}

int kube_run(struct kube *k, struct err *e)
{
	unsigned active = 0;

	(void)e;
	while (k->queue || active) {
		uint64_t now = now_ms(), wake = UINT64_MAX;
		struct xfer **pp = &k->queue, *prev = NULL;
		int running, msgs;
		CURLMsg *m;

		/* Fill idle slots with due requests, in queue order. */
		for (unsigned i = 0; i < k->opt.max_inflight && *pp; i++) {
			if (k->slots[i].x)
				continue;
			while (*pp && (*pp)->not_before > now) {
				if ((*pp)->not_before < wake)
					wake = (*pp)->not_before;
				prev = *pp;
				pp = &(*pp)->next;
			}
			if (!*pp)
				break;
			struct xfer *x = *pp;
			*pp = x->next;
			if (k->queue_tail == x)
				k->queue_tail = prev;
			start(k, &k->slots[i], x);
			active++;
		}
		for (struct xfer *x = *pp; x; x = x->next)
			if (x->not_before > now && x->not_before < wake)
				wake = x->not_before;
		curl_multi_perform(k->multi, &running);
		while ((m = curl_multi_info_read(k->multi, &msgs))) {
			struct slot *s = NULL;
			long http = 0;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &http);
			CURLcode rc = m->data.result;
			struct xfer *x = s->x;
			curl_multi_remove_handle(k->multi, m->easy_handle);
			s->x = NULL;
			active--;
			completed(k, x, rc, http);
		}
		if (active || k->queue) {
			/* Sleep until a socket is ready or the next back-off ends. */
			int timeout = 1000;
			now = now_ms();
			if (wake != UINT64_MAX)
				timeout = wake <= now ? 0 : wake - now < 1000 ? (int)(wake - now) : 1000;
			curl_multi_poll(k->multi, NULL, 0, timeout, NULL);
		}
	}
	return 0;
}

int kube_result_err(const struct kube_request *req, const struct kube_result *res, struct err *e)
{
	char what[300];

	if (req->ns && req->res->namespaced)
		snprintf(what, sizeof(what), "%s/%s", req->ns, req->name ? req->name : "");
	else
		snprintf(what, sizeof(what), "%s", req->name ? req->name : "");
	const char *verb = kube_verb_name(req->verb == KUBE_GET && !req->name ? KUBE_LIST : req->verb);

	if (res->http)
		return err_set(e, EXIT_RUNTIME, "%s %s%s%s: %ld %s: %s", verb, req->res->kind,
			       what[0] ? " " : "", what, res->http, res->reason, res->message);
	return err_set(e, EXIT_RUNTIME, "%s %s%s%s: %s: %s", verb, req->res->kind, what[0] ? " " : "",
		       what, res->reason, res->message);
}

static int call(struct kube *k, const struct kube_request *req, const char *query, json_t **body,
		long *http, struct err *e)
{
	struct kube_result r = { 0 };
	struct xfer *x = xfer_new(k, req, query);

	if (body)
		*body = NULL;
	if (!x)
		return err_errno(e, ENOMEM, "kube: %s %s", kube_verb_name(req->verb), req->res->kind);
	x->sink = &r;
	x->sink_body = body;
	enqueue(k, x);
	if (kube_run(k, e) < 0)
		return -1;
	if (http)
		*http = r.http;
	if (r.http >= 200 && r.http <= 299)
		return 0;
	kube_result_err(req, &r, e);
	return r.http == 404 ? -ENOENT : -1;
}

int kube_get_path(struct kube *k, const char *path, struct err *e)
{
	static const struct kube_resource raw = { "path", "", "", "", false };
	struct kube_request req = { .verb = KUBE_GET, .res = &raw, .name = path };
	struct kube_result r = { 0 };
	struct xfer *x = calloc(1, sizeof(*x));

	if (!x || asprintf(&x->url, "%s%s", k->server, path) < 0) {
		free(x);
		return err_errno(e, ENOMEM, "kube: get %s", path);
	}
	x->req = req;
	x->raw = true;
	x->retry_after_ms = -1;
	x->sink = &r;
	enqueue(k, x);
	if (kube_run(k, e) < 0)
		return -1;
	if (r.http >= 200 && r.http <= 299)
		return 0;
	return kube_result_err(&req, &r, e);
}

int kube_call(struct kube *k, const struct kube_request *req, json_t **body, struct err *e)
{
	return call(k, req, verb_queries[req->verb], body, NULL, e);
}

int kube_list(struct kube *k, const struct kube_resource *res, const char *selector,
	      unsigned limit, kube_item_fn item, void *ud, struct err *e)
{
	struct kube_request req = { .verb = KUBE_GET, .res = res };
	char *cont = NULL, *sel = curl_easy_escape(NULL, selector, 0);
	int rc = -1;

	if (!sel)
		return err_errno(e, ENOMEM, "kube: list %s", res->kind);
	for (;;) {
		char *query = NULL, *esc = cont ? curl_easy_escape(NULL, cont, 0) : NULL;
		json_t *body = NULL, *items, *it;
		long http = 0;
		size_t i;
		char lim[32] = "";
		if (limit)
			snprintf(lim, sizeof(lim), "&limit=%u", limit);
		int n = asprintf(&query, "labelSelector=%s%s%s%s", sel, lim, esc ? "&continue=" : "",
				 esc ? esc : "");
		curl_free(esc);
		if (n < 0) {
			err_errno(e, ENOMEM, "kube: list %s", res->kind);
			break;
		}
		rc = call(k, &req, query, &body, &http, e);
		free(query);
		if (rc < 0) {
			/* An expired continue token: start over, in one page this
			 * time (as client-go's pager does), since pages would
			 * expire again on a busy store. */
			if (http == 410 && cont && limit) {
				free(cont);
				cont = NULL;
				limit = 0;
				if (item(NULL, ud) < 0)
					break;
				continue;
			}
			break;
		}
		items = json_object_get(body, "items");
		json_array_foreach(items, i, it) {
			if (item(it, ud) < 0) {
				json_decref(body);
				rc = err_set(e, EXIT_RUNTIME, "list %s: out of memory", res->kind);
				goto out;
			}
		}
		free(cont);
		cont = NULL;
		const char *c = json_string_value(json_object_get(json_object_get(body, "metadata"), "continue"));
		if (c && *c)
			cont = strdup(c);
		json_decref(body);
		if (!cont) {
			rc = 0;
			break;
		}
	}
out:
	free(cont);
	curl_free(sel);
	return rc;
}

static int append_item(json_t *item, void *ud)
{
	json_t *items = ud;

	if (!item) /* the list started over */
		return json_array_clear(items) ? -ENOMEM : 0;
	return json_array_append(items, item) ? -ENOMEM : 0;
}

int kube_list_array(struct kube *k, const struct kube_resource *res, const char *selector,
		    unsigned limit, json_t **items, struct err *e)
{
	json_t *a = json_array();
	int rc;

	*items = NULL;
	if (!a)
		return err_errno(e, ENOMEM, "kube: list %s", res->kind);
	rc = kube_list(k, res, selector, limit, append_item, a, e);
	if (rc < 0) {
		json_decref(a);
		return rc;
	}
	*items = a;
	return 0;
}

const struct kube_stats *kube_stats(const struct kube *k)
{
	return &k->stats;
}
