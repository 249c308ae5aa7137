#include "platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "util.h"

#define PLATFORM_FILE_MAX (1 << 20)

const char *pc_state_name(enum pc_state s)
{
	static const char *const names[PC_STATE_COUNT] = {
		[PC_PENDING] = "pending", [PC_INSTALLING] = "installing",
		[PC_STARTING] = "starting", [PC_READY] = "ready", [PC_FAILED] = "failed",
	};
	return (unsigned)s < PC_STATE_COUNT ? names[s] : "?";
}

const char *job_phase_name(enum job_phase p)
{
	switch (p) {
	case JOB_ABSENT: return "absent";
	case JOB_RUNNING: return "running";
	case JOB_SUCCEEDED: return "succeeded";
	case JOB_FAILED: return "failed";
	}
	return "?";
}

void platform_free(struct platform *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct platform_component *c = &p->c[i];
		free(c->name);
		free(c->helmchart);
		free(c->namespace);
		for (size_t w = 0; w < c->nworkloads; w++) {
			free(c->workloads[w].kind);
			free(c->workloads[w].name);
		}
		free(c->workloads);
		for (size_t d = 0; d < c->ndepends; d++)
			free(c->depends[d]);
		free(c->depends);
		free(c->dep);
	}
	free(p->c);
	free(p->order);
	free(p);
}

static int get_string(json_t *obj, const char *key, char **out, const char *what,
		      const char *where, struct err *e)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (!s || !*s)
		return err_set(e, EXIT_RUNTIME, "%s: %s: \"%s\" must be a non-empty string", what,
			       where, key);
	*out = strdup(s);
	return *out ? 0 : err_errno(e, ENOMEM, "%s", what);
}

static int parse_component(json_t *jc, size_t idx, struct platform_component *c,
			   const char *what, struct err *e)
{
	char where[160];
	json_t *jw, *jd, *v;
	size_t i;

	snprintf(where, sizeof(where), "component %zu", idx + 1);
	if (!json_is_object(jc))
		return err_set(e, EXIT_RUNTIME, "%s: %s is not an object", what, where);
	if (get_string(jc, "name", &c->name, what, where, e) < 0)
		return -1;
	snprintf(where, sizeof(where), "component %s", c->name);
	if (get_string(jc, "helmchart", &c->helmchart, what, where, e) < 0 ||
	    get_string(jc, "namespace", &c->namespace, what, where, e) < 0)
		return -1;

	jw = json_object_get(jc, "workloads");
	if (!json_is_array(jw))
		return err_set(e, EXIT_RUNTIME, "%s: %s: \"workloads\" must be an array", what, where);
	c->workloads = calloc(json_array_size(jw) + 1, sizeof(*c->workloads));
	if (!c->workloads)
		return err_errno(e, ENOMEM, "%s", what);
	json_array_foreach(jw, i, v) {
		struct platform_workload *w = &c->workloads[c->nworkloads];
		if (get_string(v, "kind", &w->kind, what, where, e) < 0)
			return -1;
		c->nworkloads++;
		if (get_string(v, "name", &w->name, what, where, e) < 0)
			return -1;
		if (strcmp(w->kind, "Deployment") && strcmp(w->kind, "StatefulSet"))
			return err_set(e, EXIT_RUNTIME,
				       "%s: %s: workload kind \"%s\" is not Deployment or StatefulSet",
				       what, where, w->kind);
	}

	jd = json_object_get(jc, "depends");
	if (jd && !json_is_array(jd))
		return err_set(e, EXIT_RUNTIME, "%s: %s: \"depends\" must be an array", what, where);
	c->depends = calloc(json_array_size(jd) + 1, sizeof(*c->depends));
	c->dep = calloc(json_array_size(jd) + 1, sizeof(*c->dep));
	if (!c->depends || !c->dep)
		return err_errno(e, ENOMEM, "%s", what);
	json_array_foreach(jd, i, v) {
		const char *s = json_string_value(v);
		if (!s || !*s)
			return err_set(e, EXIT_RUNTIME, "%s: %s: \"depends\" holds a non-string",
				       what, where);
		if (!(c->depends[c->ndepends] = strdup(s)))
			return err_errno(e, ENOMEM, "%s", what);
		c->ndepends++;
	}
	return 0;
}

int platform_parse(const char *text, const char *what, struct platform **out, struct err *e)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr), *jcs, *jc;
	struct platform *p = NULL;
	size_t i;
	int rc = -1;

	*out = NULL;
	if (!root)
		return err_set(e, EXIT_RUNTIME, "%s: line %d column %d: %s", what, jerr.line,
			       jerr.column, jerr.text);
	jcs = json_object_get(root, "components");
	if (!json_is_array(jcs) || json_array_size(jcs) == 0) {
		err_set(e, EXIT_RUNTIME, "%s: \"components\" must be a non-empty array", what);
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->c = calloc(json_array_size(jcs), sizeof(*p->c))) ||
	    !(p->order = calloc(json_array_size(jcs), sizeof(*p->order)))) {
		err_errno(e, ENOMEM, "%s", what);
		goto out;
	}
	p->timeout = 600 * 1000000ULL;
	p->retry = 30 * 1000000ULL;
	json_array_foreach(jcs, i, jc) {
		p->n++;
		if (parse_component(jc, i, &p->c[i], what, e) < 0)
			goto out;
	}
	if (platform_order(p, e) < 0) {
		err_prefix(e, "%s", what);
		goto out;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	platform_free(p);
	json_decref(root);
	return rc;
}

int platform_load(const char *path, struct platform **out, struct err *e)
{
	char *text = NULL;
	int rc;

	if (util_read_file(path, PLATFORM_FILE_MAX, &text, NULL, e) < 0)
		return -1;
	rc = platform_parse(text, path, out, e);
	free(text);
	return rc;
}

static ssize_t find(const struct platform *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->c[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* Depth-first search from `i`; on a back edge, writes "a -> b -> a" into msg. */
static bool cycle_from(const struct platform *p, size_t i, unsigned char *mark, size_t *path,
		       size_t depth, char *msg, size_t len)
{
	mark[i] = 1; /* on the current path */
	path[depth] = i;
	for (size_t d = 0; d < p->c[i].ndepends; d++) {
		size_t j = p->c[i].dep[d];
		if (mark[j] == 1) {
			size_t start = 0, off = 0;
			while (path[start] != j)
				start++;
			for (size_t k = start; k <= depth; k++)
				off += (size_t)snprintf(msg + off, off < len ? len - off : 0, "%s -> ",
							p->c[path[k]].name);
			snprintf(msg + off, off < len ? len - off : 0, "%s", p->c[j].name);
			return true;
		}
		if (mark[j] == 0 && cycle_from(p, j, mark, path, depth + 1, msg, len))
			return true;
	}
	mark[i] = 2; /* done */
	return false;
}

int platform_order(struct platform *p, struct err *e)
{
	unsigned char *done = calloc(p->n ? p->n : 1, 1);
	size_t *path = calloc(p->n ? p->n : 1, sizeof(*path));
	size_t placed = 0;
	char msg[512];
	int rc = -1;

	if (!done || !path) {
		err_errno(e, ENOMEM, "platform order");
		goto out;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct platform_component *c = &p->c[i];
		if (find(p, c->name) != (ssize_t)i) {
			err_set(e, EXIT_RUNTIME, "component %s is listed twice", c->name);
			goto out;
		}
		for (size_t d = 0; d < c->ndepends; d++) {
			ssize_t j = find(p, c->depends[d]);
			if (j < 0) {
				err_set(e, EXIT_RUNTIME, "component %s depends on unknown component \"%s\"",
					c->name, c->depends[d]);
				goto out;
			}
			c->dep[d] = (size_t)j;
		}
	}
	for (size_t i = 0; i < p->n; i++)
		if (!done[i] && cycle_from(p, i, done, path, 0, msg, sizeof(msg))) {
			err_set(e, EXIT_RUNTIME, "dependency cycle: %s", msg);
			goto out;
		}
	/* Kahn's algorithm, always taking the first ready component in file order,
	 * so the order is stable and follows the file where dependencies allow. */
	memset(done, 0, p->n);
	while (placed < p->n) {
		for (size_t i = 0; i < p->n; i++) {
			bool ok = !done[i];
			for (size_t d = 0; ok && d < p->c[i].ndepends; d++)
				ok = done[p->c[i].dep[d]];
			if (ok) {
				done[i] = 1;
				p->order[placed++] = i;
				break;
			}
		}
	}
	rc = 0;
out:
	free(done);
	free(path);
	return rc;
}

static bool deps_ready(const struct platform *p, const struct platform_component *c)
{
	for (size_t d = 0; d < c->ndepends; d++)
		if (p->c[c->dep[d]].state != PC_READY)
			return false;
	return true;
}

/* The reason is already in c->reason. */
static void fail(struct platform_component *c, const struct platform *p, uint64_t now)
{
	c->state = PC_FAILED;
	c->retry_at = now + p->retry;
}

/* One component's transition. Dependencies are stepped first (p->order), so a
 * chain can become ready within one poll when the API already says so. */
static void component_step(struct platform *p, struct platform_component *c,
			   const struct pc_obs *o, uint64_t now)
{
	bool installed = o->job == JOB_SUCCEEDED, up = o->wl_ready == o->wl_total;
	unsigned long long waited_s = (now - c->since) / 1000000ULL;

	if (c->state == PC_PENDING) {
		if (!deps_ready(p, c))
			return;
		c->state = PC_INSTALLING;
		c->since = now;
		waited_s = 0;
	}
	if (o->api_error)
		return;
	switch (c->state) {
	case PC_FAILED:
		if (installed && up) {
			c->state = PC_READY;
		} else if (now >= c->retry_at) {
			c->state = PC_INSTALLING;
			c->since = now;
			component_step(p, c, o, now);
		}
		return;
	case PC_INSTALLING:
		if (o->job == JOB_FAILED) {
			snprintf(c->reason, sizeof(c->reason), "helm-install-%s Job failed: %s",
				 c->helmchart, o->job_reason[0] ? o->job_reason : "no reason given");
			fail(c, p, now);
			return;
		}
		if (!installed) {
			if (now - c->since >= p->timeout) {
				snprintf(c->reason, sizeof(c->reason),
					 "helm-install-%s not complete after %llu s", c->helmchart,
					 waited_s);
				fail(c, p, now);
			} else
				snprintf(c->reason, sizeof(c->reason), "helm-install-%s %s",
					 c->helmchart, job_phase_name(o->job));
			return;
		}
		c->state = PC_STARTING;
		c->since = now;
		/* the workloads may already be ready */
		__attribute__((fallthrough));
	case PC_STARTING:
		if (up) {
			c->state = PC_READY;
			c->reason[0] = '\0';
		} else if (now - c->since >= p->timeout) {
			snprintf(c->reason, sizeof(c->reason), "not ready after %llu s: %s",
				 (now - c->since) / 1000000ULL, o->wl_waiting);
			fail(c, p, now);
		} else {
			snprintf(c->reason, sizeof(c->reason), "waiting for %s", o->wl_waiting);
		}
		return;
	case PC_READY:
		if (!up) {
			c->state = PC_STARTING;
			c->since = now;
			snprintf(c->reason, sizeof(c->reason), "waiting for %s", o->wl_waiting);
		}
		return;
	case PC_PENDING:
	case PC_STATE_COUNT:
		return;
	}
}

size_t platform_step(struct platform *p, const struct pc_obs *obs, uint64_t now)
{
	size_t changed = 0;

	for (size_t k = 0; k < p->n; k++) {
		size_t i = p->order[k];
		struct platform_component *c = &p->c[i];
		enum pc_state before = c->state;

		component_step(p, c, &obs[i], now);
		if (c->state != before) {
			changed++;
			if (c->state == PC_FAILED)
				log_emit(LOG_WARNING, c->name, NULL, "%s", c->reason);
			else
				log_emit(LOG_INFO, c->name, NULL, "%s -> %s", pc_state_name(before),
					 pc_state_name(c->state));
		}
	}
	return changed;
}

/* Fills one component's observation from the API. */
static void observe(const struct platform_component *c, const struct probe *probe,
		    struct pc_obs *o)
{
	char job[300];
	struct err e = { 0 };

	memset(o, 0, sizeof(*o));
	o->wl_total = (unsigned)c->nworkloads;
	snprintf(job, sizeof(job), "helm-install-%s", c->helmchart);
	if (probe->ops->job(probe->ctx, PLATFORM_HELMCHART_NAMESPACE, job, &o->job, o->job_reason,
			    sizeof(o->job_reason), &e) < 0)
		goto api_error;
	for (size_t w = 0; w < c->nworkloads; w++) {
		unsigned ready = 0, want = 0;
		const struct platform_workload *wl = &c->workloads[w];
		if (probe->ops->workload(probe->ctx, c->namespace, wl->kind, wl->name, &ready, &want,
					 &e) < 0)
			goto api_error;
		if (ready >= want)
			o->wl_ready++;
		else if (!o->wl_waiting[0])
			snprintf(o->wl_waiting, sizeof(o->wl_waiting), "%s/%s %u/%u", wl->kind,
				 wl->name, ready, want);
	}
	return;
api_error:
	o->api_error = true;
	log_emit(LOG_DEBUG, c->name, NULL, "API: %s", e.msg);
}

size_t platform_poll(struct platform *p, const struct probe *probe, uint64_t now)
{
	struct pc_obs *obs = calloc(p->n, sizeof(*obs));
	size_t changed;

	if (!obs)
		return 0;
	/* Only components that may move are asked about: a pending component
	 * whose dependencies are not ready costs no requests. A dependency that
	 * becomes ready in this step is asked about in the next poll. */
	for (size_t i = 0; i < p->n; i++) {
		if (p->c[i].state == PC_PENDING && !deps_ready(p, &p->c[i]))
			obs[i].api_error = true;
		else
			observe(&p->c[i], probe, &obs[i]);
	}
	changed = platform_step(p, obs, now);
	free(obs);
	return changed;
}

size_t platform_ready_count(const struct platform *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->c[i].state == PC_READY;
	return n;
}

void platform_assume_ready(struct platform *p, const char *name, uint64_t now)
{
	ssize_t i = find(p, name);

	if (i >= 0 && p->c[i].state == PC_PENDING) {
		p->c[i].state = PC_READY;
		p->c[i].since = now;
		p->c[i].reason[0] = '\0';
	}
}

bool platform_is_ready(const struct platform *p, const char *name)
{
	ssize_t i = find(p, name);

	return i >= 0 && p->c[i].state == PC_READY;
}
