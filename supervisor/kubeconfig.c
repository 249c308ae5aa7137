#include "kubeconfig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"

/* A kubeconfig is small; anything bigger is not one. */
#define KUBECONFIG_MAX (1024 * 1024)

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *scalar_text(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || !n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* The entry of a named list (contexts, clusters, users) whose `name` matches;
 * returns the entry's inner mapping under `inner` ("context", "cluster", "user"). */
static yaml_node_t *named_entry(yaml_document_t *doc, yaml_node_t *root, const char *list,
				const char *inner, const char *name)
{
	yaml_node_t *seq = map_get(doc, root, list);

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *i);
		const char *n = scalar_text(map_get(doc, entry, "name"));
		if (n && !strcmp(n, name))
			return map_get(doc, entry, inner);
	}
	return NULL;
}

/* named_entry, or NULL with the error naming what is missing. */
static yaml_node_t *named_entry_required(yaml_document_t *doc, yaml_node_t *root, const char *list,
					 const char *inner, const char *name, const char *where,
					 struct err *e)
{
	yaml_node_t *entry = named_entry(doc, root, list, inner, name);

	if (!entry)
		err_set(e, EXIT_RUNTIME, "%s: %s: no %s named '%s'", where, list, inner, name);
	return entry;
}

/* Base64 as kubeconfig writes it (one line, padded). */
static int b64_decode(const char *in, unsigned char **out, size_t *out_len)
{
	size_t n = strlen(in);
	unsigned char *buf = malloc(n / 4 * 3 + 4);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int len1 = 0, len2 = 0, rc = -1;

	if (!buf || !ctx || n > INT32_MAX)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, buf, &len1, (const unsigned char *)in, (int)n) < 0)
		goto out;
	if (EVP_DecodeFinal(ctx, buf + len1, &len2) != 1)
		goto out;
	*out_len = (size_t)len1 + (size_t)len2;
	if (*out_len == 0)
		goto out;
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	if (buf) {
		OPENSSL_cleanse(buf, n / 4 * 3 + 4);
		free(buf);
	}
	return rc;
}

/* Reads `<field>-data` (base64) or, like kubectl, `<field>` naming a file. */
static int pem_field(yaml_document_t *doc, yaml_node_t *map, const char *path, const char *field,
		     unsigned char **out, size_t *out_len, const char *where, struct err *e)
{
	char key[64];
	const char *v;

	snprintf(key, sizeof(key), "%s-data", field);
	v = scalar_text(map_get(doc, map, key));
	if (v) {
		if (b64_decode(v, out, out_len) < 0)
			return err_set(e, EXIT_RUNTIME, "%s: %s.%s: not valid base64", where, path, key);
		return 0;
	}
	v = scalar_text(map_get(doc, map, field));
	if (v) {
		char *data = NULL;
		size_t len = 0;
		if (util_read_file(v, KUBECONFIG_MAX, &data, &len, e) < 0)
			return err_prefix(e, "%s: %s.%s", where, path, field);
		*out = (unsigned char *)data;
		*out_len = len;
		return 0;
	}
	return err_set(e, EXIT_RUNTIME, "%s: %s.%s: missing", where, path, key);
}

/* The names the current context points at. */
struct context {
	const char *name, *cluster, *user;
};

static int read_context(yaml_document_t *doc, yaml_node_t *root, const char *where,
			struct context *cx, struct err *e)
{
	yaml_node_t *ctx;

	cx->name = scalar_text(map_get(doc, root, "current-context"));
	if (!cx->name)
		return err_set(e, EXIT_RUNTIME, "%s: current-context: missing", where);
	if (!(ctx = named_entry_required(doc, root, "contexts", "context", cx->name, where, e)))
		return -1;
	cx->cluster = scalar_text(map_get(doc, ctx, "cluster"));
	cx->user = scalar_text(map_get(doc, ctx, "user"));
	if (!cx->cluster || !cx->user)
		return err_set(e, EXIT_RUNTIME, "%s: contexts[%s].context.%s: missing", where, cx->name,
			       cx->cluster ? "user" : "cluster");
	return 0;
}

/* The API server (https:// only) and the CA that signs its certificate. */
static int read_cluster(yaml_document_t *doc, yaml_node_t *root, const char *name, const char *where,
			struct kubeconfig *kc, struct err *e)
{
	yaml_node_t *cluster = named_entry_required(doc, root, "clusters", "cluster", name, where, e);
	const char *server;
	char path[160];

	if (!cluster)
		return -1;
	server = scalar_text(map_get(doc, cluster, "server"));
	if (!server)
		return err_set(e, EXIT_RUNTIME, "%s: clusters[%s].cluster.server: missing", where, name);
	if (strncmp(server, "https://", 8))
		return err_set(e, EXIT_RUNTIME, "%s: clusters[%s].cluster.server: '%s' is not https://",
			       where, name, server);
	if (!(kc->server = strdup(server)))
		return err_set(e, EXIT_RUNTIME, "%s: out of memory", where);
	snprintf(path, sizeof(path), "clusters[%s].cluster", name);
	return pem_field(doc, cluster, path, "certificate-authority", &kc->ca, &kc->ca_len, where, e);
}

/* The user's credentials: a token, or a client certificate and key. */
static int read_user(yaml_document_t *doc, yaml_node_t *root, const char *name, const char *where,
		     struct kubeconfig *kc, struct err *e)
{
	yaml_node_t *user = named_entry_required(doc, root, "users", "user", name, where, e);
	char path[160];
	const char *token;

	if (!user)
		return -1;
	token = scalar_text(map_get(doc, user, "token"));
	if (token) {
		if (!(kc->token = strdup(token)))
			return err_set(e, EXIT_RUNTIME, "%s: out of memory", where);
		return 0;
	}
	snprintf(path, sizeof(path), "users[%s].user", name);
	if (pem_field(doc, user, path, "client-certificate", &kc->cert, &kc->cert_len, where, e) < 0)
		return -1;
	return pem_field(doc, user, path, "client-key", &kc->key, &kc->key_len, where, e);
}

/* The document's top-level mapping: current-context -> cluster and user. */
static int read_document(yaml_document_t *doc, const char *where, struct kubeconfig *kc,
			 struct err *e)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	struct context cx = { 0 };

	if (!root || root->type != YAML_MAPPING_NODE)
		return err_set(e, EXIT_RUNTIME, "%s: not a kubeconfig (no top-level mapping)", where);
	if (read_context(doc, root, where, &cx, e) < 0 ||
	    read_cluster(doc, root, cx.cluster, where, kc, e) < 0)
		return -1;
	return read_user(doc, root, cx.user, where, kc, e);
}

int kubeconfig_parse(const char *text, size_t len, const char *where, struct kubeconfig **out,
		     struct err *e)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct kubeconfig *kc;
	int rc = -1;

	*out = NULL;
	kc = calloc(1, sizeof(*kc));
	if (!kc || !yaml_parser_initialize(&parser)) {
		free(kc);
		return err_set(e, EXIT_RUNTIME, "%s: out of memory", where);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err_set(e, EXIT_RUNTIME, "%s: line %zu: %s", where, parser.problem_mark.line + 1,
			parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		free(kc);
		return -1;
	}
	if (read_document(&doc, where, kc, e) == 0) {
		*out = kc;
		kc = NULL;
		rc = 0;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	kubeconfig_free(kc);
	return rc;
}

int kubeconfig_load(const char *path, struct kubeconfig **out, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (util_read_file(path, KUBECONFIG_MAX, &text, &len, e) < 0)
		return err_prefix(e, "kubeconfig");
	rc = kubeconfig_parse(text, len, path, out, e);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

static void free_cleansed(void *p, size_t len)
{
	if (p) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

void kubeconfig_free(struct kubeconfig *kc)
{
	if (!kc)
		return;
	free(kc->server);
	free(kc->ca);
	free(kc->cert);
	free_cleansed(kc->key, kc->key_len);
	if (kc->token)
		free_cleansed(kc->token, strlen(kc->token));
	free(kc);
}
