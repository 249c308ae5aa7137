/* Redaction for the support bundle: pure functions over text and JSON, so
 * every collector's output goes through the same rules (tests/check_redact.c). */
#ifndef OUTPOST_REDACT_H
#define OUTPOST_REDACT_H

#include <jansson.h>
#include <stddef.h>

#define REDACTED "REDACTED"

/* 1 when a setting or variable named `name` holds a credential: the name
 * contains password, passwd, token, secret, key, credential or
 * authorization, in any case. */
int redact_name_is_secret(const char *name, size_t len);

/* A copy of `in` (len bytes) in which the value after a secret name and
 * '=' or ':' (NAME=v, NAME: v, "NAME": "v", password=v in a connection
 * string) and the user:password of every URL (scheme://user:pw@host) read
 * REDACTED. *out is malloc'ed and NUL-terminated. Returns 0 or -ENOMEM. */
int redact_text(const char *in, size_t len, char **out);

/* In place: the string values of members with secret names, and the
 * "value" beside a secret "name" (a container's env entry) read REDACTED.
 * Text inside other strings is left to redact_text over the dump. */
void redact_json(json_t *j);

#endif
