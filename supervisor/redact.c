/* See redact.h. Over-redacting ("monkey: 3") is accepted; leaking is not. */
#include "redact.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const words[] = { "password", "passwd", "token", "secret", "key",
				     "credential", "authorization" };

int redact_name_is_secret(const char *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
			size_t wl = strlen(words[w]);

			if (i + wl <= len && !strncasecmp(name + i, words[w], wl))
				return 1;
		}
	return 0;
}

struct buf {
	char *p;
	size_t len, cap;
};

static int put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* At in[i] after a secret name: the length of the separator (closing quote,
 * spaces, '=' or ':', spaces) or 0 when there is none. */
static size_t separator(const char *in, size_t len, size_t i)
{
	size_t j = i;

	if (j < len && (in[j] == '"' || in[j] == '\''))
		j++;
	while (j < len && in[j] == ' ')
		j++;
	if (j >= len || (in[j] != '=' && in[j] != ':'))
		return 0;
	/* "scheme://": not a setting; the URL rule handles it. */
	if (in[j] == ':' && j + 2 < len && in[j + 1] == '/' && in[j + 2] == '/')
		return 0;
	j++;
	while (j < len && (in[j] == ' ' || in[j] == '\t'))
		j++;
	return j - i;
}

/* A line end inside a JSON string ("a: b\\nc: d" in a dumped YAML value). */
static int escaped_eol(const char *in, size_t len, size_t j)
{
	return in[j] == '\\' && j + 1 < len && (in[j + 1] == 'n' || in[j + 1] == 'r');
}

/* The length of the value at in[i]: a quoted string (escapes skipped), or a
 * bare word up to a space or a delimiter; with `to_eol` (an Authorization
 * header: "Bearer <token>") the rest of the line. */
static size_t value_len(const char *in, size_t len, size_t i, int to_eol, int *quoted)
{
	size_t j = i;

	*quoted = 0;
	if (j < len && (in[j] == '"' || in[j] == '\'')) {
		char q = in[j++];

		*quoted = 1;
		while (j < len && in[j] != q && in[j] != '\n')
			j += (in[j] == '\\' && j + 1 < len) ? 2 : 1;
		return j - i - 1;
	}
	while (j < len && in[j] != '\n' && !escaped_eol(in, len, j) &&
	       (to_eol || (!isspace((unsigned char)in[j]) && !strchr(",;&\"'}]", in[j]))))
		j++;
	return j - i;
}

static int is_authorization(const char *name, size_t n)
{
	return n >= 13 && !strncasecmp(name + n - 13, "authorization", 13);
}

/* At in[i] == ':' of "://": the length of "user:pw" before '@' in the
 * authority, or 0 when the URL carries no credentials. */
static size_t userinfo_len(const char *in, size_t len, size_t i)
{
	size_t start = i + 3, j = start, at = 0;

	while (j < len && !isspace((unsigned char)in[j]) && !strchr("/?#\"'<>", in[j])) {
		if (in[j] == '@')
			at = j;
		j++;
	}
	return at > start ? at - start : 0;
}

int redact_text(const char *in, size_t len, char **out)
{
	struct buf b = { 0 };
	size_t i = 0;
	int rc = put(&b, "", 0);

	while (!rc && i < len) {
		if (in[i] == ':' && i + 2 < len && in[i + 1] == '/' && in[i + 2] == '/') {
			size_t u = userinfo_len(in, len, i);

			rc = put(&b, "://", 3);
			if (!rc && u)
				rc = put(&b, REDACTED, strlen(REDACTED));
			i += 3 + u;
			continue;
		}
		if (name_char(in[i]) && (i == 0 || !name_char(in[i - 1]))) {
			size_t n = 0, sep, v;
			int quoted;

			while (i + n < len && name_char(in[i + n]))
				n++;
			rc = put(&b, in + i, n);
			i += n;
			if (rc || !redact_name_is_secret(in + i - n, n) || !(sep = separator(in, len, i)))
				continue;
			rc = put(&b, in + i, sep);
			i += sep;
			v = value_len(in, len, i, is_authorization(in + i - sep - n, n), &quoted);
			if (rc || v == 0)
				continue;
			if (quoted)
				rc = put(&b, in + i++, 1);
			if (!rc)
				rc = put(&b, REDACTED, strlen(REDACTED));
			i += v;
			continue;
		}
		rc = put(&b, in + i, 1);
		i++;
	}
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	return 0;
}

void redact_json(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			redact_json(v);
		return;
	}
	if (!json_is_object(j))
		return;
	{
		json_t *name = json_object_get(j, "name"), *value = json_object_get(j, "value");

		if (json_is_string(name) && json_is_string(value) &&
		    redact_name_is_secret(json_string_value(name), json_string_length(name)))
			json_object_set_new(j, "value", json_string(REDACTED));
	}
	json_object_foreach(j, k, v) {
		if (json_is_string(v) && redact_name_is_secret(k, strlen(k)))
			json_object_set_new(j, k, json_string(REDACTED));
		else
			redact_json(v);
	}
}
