/* Tenant validation: every rule a tenant must meet before it is written, and
 * again when the daemon reads it back. */
#include "tenant.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DNS_LABEL_MAX 63

/* Names a tenant must not take: Kubernetes' own namespaces and prefixes, the
 * platform's namespace and components (charts/platform.json; a test checks they
 * are all here) and words an operator would confuse with the appliance. */
static const char *const reserved_exact[] = {
	"default", "outpost", "platform", "system", "admin", "root", "api", "www", "k3s",
	"postgresql", "postgres", "redis", "valkey", "minio", "keycloak", "ingress", "traefik",
	"provision", "coredns", "local-path-storage", "metrics-server",
};
static const char *const reserved_prefix[] = { "kube-", "outpost-", "k3s-", "system-" };

void tenant_clear(struct tenant *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->host);
	free(t->plan);
	free(t->app_chart);
	free(t->app_version);
	for (size_t i = 0; i < t->nvalues; i++) {
		free(t->values[i].key);
		free(t->values[i].value);
	}
	free(t->values);
	free(t->invalid);
	memset(t, 0, sizeof(*t));
}

void tenant_list_free(struct tenant_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		tenant_clear(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int tenant_set_str(char **field, const char *value)
{
	char *dup = NULL;

	if (value && !(dup = strdup(value)))
		return -ENOMEM;
	free(*field);
	*field = dup;
	return 0;
}

int tenant_value_put(struct tenant *t, const char *key, const char *value)
{
	size_t lo = 0, hi = t->nvalues;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(t->values[mid].key, key);
		if (c == 0)
			return tenant_set_str(&t->values[mid].value, value);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct tenant_value *nv = realloc(t->values, (t->nvalues + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	t->values = nv;
	char *k = strdup(key), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	memmove(&nv[lo + 1], &nv[lo], (t->nvalues - lo) * sizeof(*nv));
	nv[lo].key = k;
	nv[lo].value = v;
	t->nvalues++;
	return 0;
}

const char *tenant_quote(const char *in, char out[TENANT_QUOTE_SIZE])
{
	size_t o = 0, i;

	for (i = 0; in[i] && i < 64; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)sprintf(out + o, "\\x%02x", c);
	}
	if (in[i])
		o += (size_t)sprintf(out + o, "...");
	out[o] = '\0';
	return out;
}

static int refuse(struct err *e, const char *field, const char *input, const char *why)
{
	char buf[TENANT_QUOTE_SIZE];

	return err_set(e, EXIT_REFUSED, "%s '%s': %s", field, tenant_quote(input, buf), why);
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? up to `max`; the reason why not, or NULL. */
static const char *dns_label_problem(const char *s, size_t len, size_t max)
{
	if (len == 0)
		return "must not be empty";
	if (len > max)
		return NULL; /* the caller words the length limit */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return "must be a DNS-1123 label (lowercase letters, digits, '-')";
	}
	if (s[0] == '-' || s[len - 1] == '-')
		return "must start and end with a letter or digit";
	return NULL;
}

static int check_label(const char *field, const char *s, size_t max, struct err *e)
{
	size_t len = strlen(s);
	const char *why = dns_label_problem(s, len, max);
	char lim[64];

	if (why)
		return refuse(e, field, s, why);
	if (len > max) {
		snprintf(lim, sizeof(lim), "must be at most %zu characters (is %zu)", max, len);
		return refuse(e, field, s, lim);
	}
	return 0;
}

int tenant_check_name(const char *name, struct err *e)
{
	if (check_label("name", name, TENANT_NAME_MAX, e) < 0)
		return -1;
	/* Some derived objects (Services) must be DNS-1035 labels. */
	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return refuse(e, "name", name, "must start with a letter");
	for (size_t i = 0; i < sizeof(reserved_exact) / sizeof(reserved_exact[0]); i++)
		if (!strcmp(name, reserved_exact[i]))
			return refuse(e, "name", name, "is reserved for the appliance");
	for (size_t i = 0; i < sizeof(reserved_prefix) / sizeof(reserved_prefix[0]); i++)
		if (!strncmp(name, reserved_prefix[i], strlen(reserved_prefix[i]))) {
			char why[64];
			snprintf(why, sizeof(why), "names starting with '%s' are reserved",
				 reserved_prefix[i]);
			return refuse(e, "name", name, why);
		}
	return 0;
}

int tenant_check_host(const char *host, struct err *e)
{
	size_t len = strlen(host), labels = 0;
	const char *p = host, *last = host;
	char why[128];

	if (len == 0)
		return refuse(e, "host", host, "must not be empty");
	if (len > TENANT_HOST_MAX) {
		snprintf(why, sizeof(why), "must be at most %d characters (is %zu)", TENANT_HOST_MAX, len);
		return refuse(e, "host", host, why);
	}
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		const char *lw = dns_label_problem(p, n, DNS_LABEL_MAX);
		if (n == 0)
			return refuse(e, "host", host, "must not have an empty label "
				      "(leading, trailing or double '.')");
		if (lw) {
			snprintf(why, sizeof(why), "label %zu %s", labels + 1, lw);
			return refuse(e, "host", host, why);
		}
		if (n > DNS_LABEL_MAX) {
			snprintf(why, sizeof(why), "label %zu is longer than %d characters", labels + 1,
				 DNS_LABEL_MAX);
			return refuse(e, "host", host, why);
		}
		labels++;
		last = p;
		if (!dot)
			break;
		p = dot + 1;
	}
	if (labels < 2)
		return refuse(e, "host", host, "must be a fully qualified name (at least two labels)");
	if (strspn(last, "0123456789") == strlen(last))
		return refuse(e, "host", host, "must be a DNS name, not an IP address");
	return 0;
}

/* MAJOR.MINOR.PATCH with an optional leading 'v', "-prerelease" and "+build". */
static bool semverish(const char *v)
{
	const char *p = v + (*v == 'v');

	for (int part = 0; part < 3; part++) {
		size_t n = strspn(p, "0123456789");
		if (n == 0 || (n > 1 && p[0] == '0'))
			return false;
		p += n;
		if (part < 2 && *p++ != '.')
			return false;
	}
	if (*p == '-' || *p == '+') {
		const char *tail = p + 1;
		if (!*tail || strspn(tail, "0123456789abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-+") != strlen(tail))
			return false;
		return true;
	}
	return *p == '\0';
}

int tenant_check_app(const char *chart, const char *version, struct err *e)
{
	if (!chart) {
		if (version)
			return refuse(e, "app version", version, "given without a chart");
		return 0;
	}
	if (check_label("app chart", chart, TENANT_CHART_MAX, e) < 0)
		return -1;
	if (version && (strlen(version) > TENANT_VERSION_MAX || !semverish(version)))
		return refuse(e, "app version", version,
			      "must be a semantic version (1.2.3, v1.2.3-rc.1, 1.2.3+build), "
			      "at most 64 characters");
	return 0;
}

/* Well-formed UTF-8 without control characters other than tab and newline. */
static const char *text_problem(const unsigned char *s)
{
	while (*s) {
		unsigned char c = *s;
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			: (c & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4))
			return "must be UTF-8 text";
		for (size_t i = 1; i < n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return "must be UTF-8 text";
		if ((n == 3 && c == 0xe0 && s[1] < 0xa0) || (n == 3 && c == 0xed && s[1] >= 0xa0) ||
		    (n == 4 && c == 0xf0 && s[1] < 0x90) || (n == 4 && c == 0xf4 && s[1] >= 0x90))
			return "must be UTF-8 text";
		if (n == 1 && (c < 0x20 || c == 0x7f) && c != '\t' && c != '\n')
			return "must not contain control characters";
		s += n;
	}
	return NULL;
}

/* The app values render.c writes after a tenant's --set values: a --set there
 * would be replaced without a word, so it is refused instead. */
static const char *const owned_keys[] = { "tenant", "host", "secretName", "serviceAccountName",
					   "resources", "replicas", "autoscaling", "ingress.tlsSecretName" };

/* The owned key that `key` is, or is under (replicas, replicas.x); NULL if none. */
static const char *owned_key(const char *key)
{
	for (size_t i = 0; i < sizeof(owned_keys) / sizeof(owned_keys[0]); i++) {
		size_t len = strlen(owned_keys[i]);

		if (strncmp(key, owned_keys[i], len) == 0 && (key[len] == '\0' || key[len] == '.'))
			return owned_keys[i];
	}
	return NULL;
}

int tenant_check_set_key(const char *key, struct err *e)
{
	if (owned_key(key))
		return refuse(e, "set key", key,
			      "Outpost sets it (tenant, host, secretName, serviceAccountName, "
			      "resources, replicas, autoscaling and ingress.tlsSecretName come from the tenant, "
			      "its plan and its certificate)");
	return 0;
}

int tenant_check_value(const char *key, const char *value, struct err *e)
{
	size_t len = strlen(key);
	const char *p = key, *why;
	char buf[TENANT_QUOTE_SIZE], msg[400];

	if (len == 0)
		return refuse(e, "set key", key, "must not be empty");
	if (len > TENANT_KEY_MAX) {
		snprintf(msg, sizeof(msg), "must be at most %d characters", TENANT_KEY_MAX);
		return refuse(e, "set key", key, msg);
	}
	for (;;) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
		if (n == 0 || (p[n] != '.' && p[n] != '\0'))
			return refuse(e, "set key", key,
				      "must be a dotted path of [A-Za-z0-9_-] segments (a.b.c)");
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	if (strlen(value) > TENANT_VALUE_MAX) {
		snprintf(msg, sizeof(msg), "set '%s': value must be at most %d bytes (is %zu)",
			 tenant_quote(key, buf), TENANT_VALUE_MAX, strlen(value));
		return err_set(e, EXIT_REFUSED, "%s", msg);
	}
	if ((why = text_problem((const unsigned char *)value)))
		return err_set(e, EXIT_REFUSED, "set '%s': value %s", tenant_quote(key, buf), why);
	return 0;
}

const struct plan *plan_find(const struct plan *plans, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(plans[i].name, name))
			return &plans[i];
	return NULL;
}

int tenant_check_plan(const char *plan, const struct plan *plans, size_t n, struct err *e)
{
	if (check_label("plan", plan, PLAN_NAME_MAX, e) < 0)
		return -1;
	if (n > 0 && !plan_find(plans, n, plan)) {
		char why[256];
		size_t o = (size_t)snprintf(why, sizeof(why), "no such plan (plans:");
		for (size_t i = 0; i < n && o < sizeof(why); i++)
			o += (size_t)snprintf(why + o, sizeof(why) - o, " %s", plans[i].name);
		if (o < sizeof(why))
			snprintf(why + o, sizeof(why) - o, ")");
		return refuse(e, "plan", plan, why);
	}
	return 0;
}

int tenant_validate(const struct tenant *t, const struct plan *plans, size_t nplans,
		    struct err *e)
{
	if (tenant_check_name(t->name ? t->name : "", e) < 0 ||
	    tenant_check_host(t->host ? t->host : "", e) < 0 ||
	    tenant_check_plan(t->plan ? t->plan : "", plans, nplans, e) < 0 ||
	    tenant_check_app(t->app_chart, t->app_version, e) < 0)
		return -1;
	if (t->nvalues > TENANT_VALUES_MAX)
		return err_set(e, EXIT_REFUSED, "set: at most %d values per tenant (has %zu)",
			       TENANT_VALUES_MAX, t->nvalues);
	for (size_t i = 0; i < t->nvalues; i++)
		if (tenant_check_value(t->values[i].key, t->values[i].value, e) < 0)
			return -1;
	return 0;
}

int tenant_parse_app(struct tenant *t, const char *spec, struct err *e)
{
	const char *at = strchr(spec, '@');
	char *chart = strndup(spec, at ? (size_t)(at - spec) : strlen(spec));
	int rc;

	if (!chart)
		return err_errno(e, ENOMEM, "app");
	rc = tenant_set_str(&t->app_version, at ? at + 1 : NULL);
	free(t->app_chart);
	t->app_chart = chart;
	if (rc < 0)
		return err_errno(e, ENOMEM, "app");
	if (at && !at[1])
		return refuse(e, "app", spec, "'@' must be followed by a version");
	return 0;
}

void tenant_namespace(const char *name, char *out, size_t size)
{
	snprintf(out, size, TENANT_NAMESPACE_PREFIX "%s", name);
}
