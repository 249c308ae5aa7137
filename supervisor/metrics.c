#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "worker-msg.h"

static const char *const failure_names[MX_FAIL_COUNT] = {
	[MX_FAIL_K3S_EXIT] = "k3s_exit",       [MX_FAIL_K3S_CRASH_LOOP] = "k3s_crash_loop",
	[MX_FAIL_WORKER_EXIT] = "worker_exit", [MX_FAIL_WORKER_HUNG] = "worker_hung",
	[MX_FAIL_PASS] = "reconcile_pass",     [MX_FAIL_REQUEST] = "reconcile_request",
	[MX_FAIL_COMPONENT] = "component",
};

const double metrics_buckets[MX_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
					     0.5,   1,    2.5,   5,    10,  30 };

const char *metrics_failure_name(enum metrics_failure f)
{
	return (unsigned)f < MX_FAIL_COUNT ? failure_names[f] : "unknown";
}

int metrics_failure_parse(const char *name, enum metrics_failure *f)
{
	for (size_t i = 0; i < MX_FAIL_COUNT; i++)
		if (!strcmp(name, failure_names[i])) {
			*f = (enum metrics_failure)i;
			return 0;
		}
	return -1;
}

void metrics_observe_pass(struct metrics_counters *c, const struct metrics_pass *p)
{
	size_t b = 0;

	while (b < MX_BUCKETS && (double)p->elapsed_ms / 1000 > metrics_buckets[b])
		b++;
	c->buckets[b]++;
	c->passes[p->full ? 1 : 0]++;
	c->pass_ms += p->elapsed_ms;
	c->writes += p->writes;
	c->failures[MX_FAIL_REQUEST] += p->errors;
	if (!p->ok)
		c->failures[MX_FAIL_PASS]++;
}

size_t metrics_msg_pass(char *buf, const struct metrics_pass *p)
{
	return (size_t)snprintf(buf, WORKER_MSG_MAX, "metric pass %d %d %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
				p->full ? 1 : 0, p->ok ? 1 : 0, p->elapsed_ms, p->writes, p->errors);
}

size_t metrics_msg_failure(char *buf, enum metrics_failure f)
{
	return (size_t)snprintf(buf, WORKER_MSG_MAX, "metric failure %s\n", metrics_failure_name(f));
}

int metrics_msg_apply(struct metrics_counters *c, const char *line)
{
	struct metrics_pass p = { 0 };
	enum metrics_failure f;
	unsigned full, ok;
	int end = -1;

	if (!strncmp(line, "failure ", 8)) {
		if (metrics_failure_parse(line + 8, &f) < 0)
			return -1;
		c->failures[f]++;
		return 0;
	}
	/* sscanf would read "-1" as a huge unsigned number. */
	if (strchr(line, '-') ||
	    sscanf(line, "pass %u %u %" SCNu64 " %" SCNu64 " %" SCNu64 "%n", &full, &ok,
		   &p.elapsed_ms, &p.writes, &p.errors, &end) != 5 || line[end] || full > 1 || ok > 1)
		return -1;
	p.full = full;
	p.ok = ok;
	metrics_observe_pass(c, &p);
	return 0;
}

/* A label value: backslash, double quote and newline escaped (the format's
 * only rules). */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram(FILE *f, const struct metrics_counters *c)
{
	static const char name[] = "outpost_reconcile_pass_duration_seconds";
	uint64_t cum = 0;

	head(f, name, "histogram", "How long the reconcile passes took.");
	for (size_t b = 0; b < MX_BUCKETS; b++) {
		cum += c->buckets[b];
		fprintf(f, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, metrics_buckets[b], cum);
	}
	cum += c->buckets[MX_BUCKETS];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	fprintf(f, "%s_sum %" PRIu64 ".%03" PRIu64 "\n", name, c->pass_ms / 1000, c->pass_ms % 1000);
	fprintf(f, "%s_count %" PRIu64 "\n", name, cum);
}

static void counters(FILE *f, const struct metrics_counters *c)
{
	head(f, "outpost_reconcile_passes_total", "counter",
	     "Reconcile passes the workers ran: full (every tenant) or targeted (the changed ones).");
	fprintf(f, "outpost_reconcile_passes_total{kind=\"full\"} %" PRIu64 "\n", c->passes[1]);
	fprintf(f, "outpost_reconcile_passes_total{kind=\"targeted\"} %" PRIu64 "\n", c->passes[0]);
	histogram(f, c);
	head(f, "outpost_reconcile_writes_total", "counter",
	     "Create, apply, patch and delete requests the reconcile passes sent.");
	fprintf(f, "outpost_reconcile_writes_total %" PRIu64 "\n", c->writes);
	head(f, "outpost_failures_total", "counter", "Failures, by reason.");
	for (size_t i = 0; i < MX_FAIL_COUNT; i++)
		fprintf(f, "outpost_failures_total{reason=\"%s\"} %" PRIu64 "\n", failure_names[i],
			c->failures[i]);
	head(f, "outpost_worker_runs_total", "counter", "Workers the supervising process started.");
	fprintf(f, "outpost_worker_runs_total %" PRIu64 "\n", c->worker_runs);
}

static void k3s(FILE *f, const struct metrics_view *v)
{
	head(f, "outpost_k3s_up", "gauge", "Whether the k3s server process runs.");
	fprintf(f, "outpost_k3s_up %d\n", v->k3s_up ? 1 : 0);
	head(f, "outpost_k3s_restarts_total", "counter",
	     "Times k3s was started again after it exited.");
	fprintf(f, "outpost_k3s_restarts_total %" PRIu64 "\n", v->k3s_restarts);
	/* Without a restart there is no "last one": the series is absent rather
	 * than a made-up age. */
	if (v->k3s_restarts > 0) {
		head(f, "outpost_k3s_seconds_since_last_restart", "gauge",
		     "Seconds since k3s was last started again.");
		fprintf(f, "outpost_k3s_seconds_since_last_restart %.3f\n", v->k3s_since_restart);
	}
}

static void from_state(FILE *f, const struct metrics_view *v)
{
	head(f, "outpost_state_file_readable", "gauge",
	     "Whether this scrape could read the state file (tenants and components need it).");
	fprintf(f, "outpost_state_file_readable %d\n", v->state_read ? 1 : 0);
	if (!v->state_read)
		return;
	head(f, "outpost_tenants", "gauge", "Tenants by phase, as the reconciler last wrote them.");
	for (size_t p = 0; p < MX_PHASES; p++)
		fprintf(f, "outpost_tenants{phase=\"%s\"} %" PRIu64 "\n",
			tenant_phase_name((enum tenant_phase)p), v->tenants[p]);
	head(f, "outpost_component_ready", "gauge",
	     "Whether each platform component (and the API) is Ready.");
	for (size_t i = 0; i < v->ncomponents; i++) {
		fputs("outpost_component_ready{component=\"", f);
		put_label(f, v->components[i].name);
		fprintf(f, "\"} %d\n", v->components[i].ready ? 1 : 0);
	}
	head(f, "outpost_tenant_certificate_expiry_timestamp_seconds", "gauge",
	     "When the certificate serving each tenant's host expires (source: ca or operator).");
	for (size_t i = 0; i < v->ncertificates; i++) {
		const struct tenant_certificate *c = &v->certificates[i];
		fputs("outpost_tenant_certificate_expiry_timestamp_seconds{tenant=\"", f);
		put_label(f, c->name);
		fputs("\",source=\"", f);
		put_label(f, c->source);
		fprintf(f, "\"} %" PRId64 "\n", c->not_after);
	}
}

char *metrics_render(const struct metrics_view *v, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	if (v->version) {
		head(f, "outpost_build_info", "gauge", "The running Outpost's version (the value is always 1).");
		fputs("outpost_build_info{version=\"", f);
		put_label(f, v->version);
		fputs("\"} 1\n", f);
	}
	counters(f, v->c);
	k3s(f, v);
	from_state(f, v);
	if (ferror(f) | fclose(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* ---- the listening address ---- */

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int metrics_listen_parse(const char *spec, struct metrics_listen *out, struct err *e)
{
	const char *colon;
	char host[64];

	memset(out, 0, sizeof(*out));
	if (!strcmp(spec, "off"))
		return 0;
	if (!strncmp(spec, "unix:", 5)) {
		if (spec[5] != '/')
			return err_set(e, EXIT_USAGE, "--metrics: \"%s\": the socket path must be absolute", spec);
		if (strlen(spec + 5) >= sizeof(out->path))
			return err_set(e, EXIT_USAGE, "--metrics: \"%s\": the socket path is longer than %zu bytes",
				       spec, sizeof(out->path) - 1);
		out->kind = MX_LISTEN_UNIX;
		strcpy(out->path, spec + 5);
		return 0;
	}
	if (!(colon = strrchr(spec, ':')) || (size_t)(colon - spec) >= sizeof(host) ||
	    parse_port(colon + 1, &out->port) < 0)
		return err_set(e, EXIT_USAGE,
			       "--metrics: \"%s\" is not off, unix:PATH, 127.0.0.1:PORT or [::1]:PORT", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, out->addr) == 1 &&
		    !memcmp(out->addr, (const unsigned char[16]){ [15] = 1 }, 16)) {
			out->kind = MX_LISTEN_INET6;
			return 0;
		}
	} else if (inet_pton(AF_INET, host, out->addr) == 1 && out->addr[0] == 127) {
		out->kind = MX_LISTEN_INET;
		return 0;
	}
	/* The endpoint has no authentication: it is for this machine only. */
	return err_set(e, EXIT_USAGE, "--metrics: \"%s\": only a loopback address (127.0.0.0/8, [::1]) is allowed",
		       spec);
}

void metrics_listen_format(const struct metrics_listen *l, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "";

	switch (l->kind) {
	case MX_LISTEN_OFF:
		snprintf(buf, len, "off");
		break;
	case MX_LISTEN_UNIX:
		snprintf(buf, len, "unix:%s", l->path);
		break;
	case MX_LISTEN_INET:
		inet_ntop(AF_INET, l->addr, addr, sizeof(addr));
		snprintf(buf, len, "%s:%u", addr, (unsigned)l->port);
		break;
	case MX_LISTEN_INET6:
		inet_ntop(AF_INET6, l->addr, addr, sizeof(addr));
		snprintf(buf, len, "[%s]:%u", addr, (unsigned)l->port);
		break;
	}
}
