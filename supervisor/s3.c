/* See s3.h. */
#include "s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* MinIO takes any region unless one is configured; us-east-1 is its default. */
#define SIGV4 "aws:amz:us-east-1:s3"
#define BODY_MAX ((size_t)16 << 20) /* an XML answer or error */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define PAGE_KEYS "1000"

struct s3 {
	CURL *curl;
	char *base; /* scheme://host[:port], no trailing '/' */
	char *user, *password;
	char errbuf[CURL_ERROR_SIZE];
};

int s3_list_add(struct s3_list *l, const char *s, size_t len, struct err *e)
{
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **grown = realloc(l->v, cap * sizeof(*grown));

		if (!grown)
			return err_set(e, EXIT_RUNTIME, "out of memory");
		l->v = grown;
		l->cap = cap;
	}
	if (!(copy = strndup(s, len)))
		return err_set(e, EXIT_RUNTIME, "out of memory");
	l->v[l->n++] = copy;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void s3_list_sort(struct s3_list *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

int s3_list_has(const struct s3_list *l, const char *s)
{
	return l->n && bsearch(&s, l->v, l->n, sizeof(*l->v), cmp_str) != NULL;
}

void s3_list_free(struct s3_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

char *s3_encode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~' || (c == '/' && keep_slash)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* No network, no entity substitution, no DTD loading: an answer is data. */
static xmlDocPtr xml_read(const char *xml, size_t len)
{
	if (!xml || len == 0 || len > INT_MAX)
		return NULL;
	return xmlReadMemory(xml, (int)len, "s3.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* Names are compared without their namespace: S3 puts its elements in
 * http://s3.amazonaws.com/doc/2006-03-01/, which servers may leave out. */
static int is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (is(c, name))
			return c;
	return NULL;
}

static int add_text(struct s3_list *l, xmlNodePtr n, struct err *e)
{
	xmlChar *t = xmlNodeGetContent(n);
	int rc;

	if (!t)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	rc = s3_list_add(l, (const char *)t, strlen((const char *)t), e);
	xmlFree(t);
	return rc;
}

/* The document's root when it is the element `name`, else NULL (and *doc
 * freed). */
static xmlNodePtr root_of(xmlDocPtr *doc, const char *xml, size_t len, const char *name)
{
	xmlNodePtr root;

	*doc = xml_read(xml, len);
	root = *doc ? xmlDocGetRootElement(*doc) : NULL;
	if (!root || !is(root, name)) {
		xmlFreeDoc(*doc);
		*doc = NULL;
		return NULL;
	}
	return root;
}

int s3_parse_buckets(const char *xml, size_t len, struct s3_list *names, struct err *e)
{
	xmlDocPtr doc;
	xmlNodePtr root = root_of(&doc, xml, len, "ListAllMyBucketsResult"), name;
	int rc = 0;

	if (!root)
		return err_set(e, EXIT_RUNTIME, "the answer is not a ListAllMyBucketsResult");
	for (xmlNodePtr b = child(root, "Buckets") ? child(root, "Buckets")->children : NULL; b && !rc; b = b->next)
		if (is(b, "Bucket") && (name = child(b, "Name")))
			rc = add_text(names, name, e);
	xmlFreeDoc(doc);
	return rc;
}

int s3_parse_objects(const char *xml, size_t len, struct s3_list *keys, char **next, struct err *e)
{
	xmlDocPtr doc;
	xmlNodePtr root = root_of(&doc, xml, len, "ListBucketResult"), n;
	xmlChar *t = NULL;
	int rc = 0;

	*next = NULL;
	if (!root)
		return err_set(e, EXIT_RUNTIME, "the answer is not a ListBucketResult");
	for (xmlNodePtr c = root->children; c && !rc; c = c->next)
		if (is(c, "Contents") && (n = child(c, "Key")))
			rc = add_text(keys, n, e);
	if (!rc && (n = child(root, "IsTruncated")) && (t = xmlNodeGetContent(n)) &&
	    !strcmp((const char *)t, "true")) {
		xmlChar *tok = (n = child(root, "NextContinuationToken")) ? xmlNodeGetContent(n) : NULL;

		/* Without a token the next page cannot be asked for: a server
		 * that says "truncated" with none would loop forever. */
		if (!tok || !tok[0] || !(*next = strdup((const char *)tok)))
			rc = err_set(e, EXIT_RUNTIME, "a truncated list without a continuation token");
		xmlFree(tok);
	}
	xmlFree(t);
	xmlFreeDoc(doc);
	return rc;
}

void s3_error_code(const char *xml, size_t len, char *code, size_t cap)
{
	xmlDocPtr doc;
	xmlNodePtr root = root_of(&doc, xml, len, "Error"), n;
	xmlChar *t;

	code[0] = '\0';
	if (root && (n = child(root, "Code")) && (t = xmlNodeGetContent(n))) {
		/* Printable ASCII only: it goes into a one-line message. */
		size_t j = 0;

		for (const xmlChar *p = t; *p && j + 1 < cap; p++)
			if (*p > ' ' && *p < 127)
				code[j++] = (char)*p;
		code[j] = '\0';
		xmlFree(t);
	}
	xmlFreeDoc(doc);
}

int s3_open(const char *url, const char *user, const char *password, struct s3 **out, struct err *e)
{
	struct s3 *s = calloc(1, sizeof(*s));
	size_t n = strlen(url);

	*out = NULL;
	if (!s)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	while (n && url[n - 1] == '/')
		n--;
	s->base = strndup(url, n);
	s->user = strdup(user);
	s->password = strdup(password);
	s->curl = curl_easy_init();
	if (!s->base || !s->user || !s->password || !s->curl) {
		s3_close(s);
		return err_set(e, EXIT_RUNTIME, "out of memory");
	}
	*out = s;
	return 0;
}

void s3_close(struct s3 *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	if (s->user)
		OPENSSL_cleanse(s->user, strlen(s->user));
	if (s->password)
		OPENSSL_cleanse(s->password, strlen(s->password));
	free(s->user);
	free(s->password);
	free(s->base);
	free(s);
}

/* One request and its answer. */
struct call {
	const char *method;     /* GET, PUT or DELETE */
	const char *bucket;     /* NULL: the service (ListBuckets) */
	const char *key;        /* NULL: the bucket */
	const char *query;      /* already canonical (sorted, encoded), or NULL */
	int in_fd;              /* PUT: the body's file, or -1 for none */
	curl_off_t in_size;
	char sha[65];           /* PUT: the body's SHA-256, hex */
	int out_fd;             /* GET: a 2xx body goes here; -1: into body */
	CURL *curl;
	char *body;             /* any other answer, NUL-terminated */
	size_t len;
	int io_errno;           /* a failed read or write of the files */
	int too_long;
	long status;
	char code[64];          /* S3's error Code */
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct call *c = ctx;
	size_t len = size * n;
	long status = 0;
	char *grown;

	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (c->out_fd >= 0 && status >= 200 && status < 300) {
		for (size_t off = 0; off < len;) {
			ssize_t w = write(c->out_fd, p + off, len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				c->io_errno = errno;
				return 0;
			}
			off += (size_t)w;
		}
		return len;
	}
	if (c->len + len > BODY_MAX) {
		c->too_long = 1;
		return 0;
	}
	if (!(grown = realloc(c->body, c->len + len + 1))) {
		c->io_errno = ENOMEM;
		return 0;
	}
	c->body = grown;
	memcpy(c->body + c->len, p, len);
	c->len += len;
	c->body[c->len] = '\0';
	return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ctx)
{
	struct call *c = ctx;
	ssize_t r;

	if (c->in_fd < 0)
		return 0;
	do
		r = read(c->in_fd, p, size * n);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		c->io_errno = errno;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)r;
}

/* base/bucket/key?query, the bucket and key encoded as S3 signs them. */
static char *call_url(const struct s3 *s, const struct call *c)
{
	char *b = c->bucket ? s3_encode(c->bucket, 0) : NULL, *k = c->key ? s3_encode(c->key, 1) : NULL;
	char *url = NULL;

	if ((!c->bucket || b) && (!c->key || k) &&
	    asprintf(&url, "%s/%s%s%s%s%s", s->base, b ? b : "", k ? "/" : "", k ? k : "",
		     c->query ? "?" : "", c->query ? c->query : "") < 0)
		url = NULL;
	free(b);
	free(k);
	return url;
}

/* CURLE_OK, or what the options that keep the request safe (signed,
 * http(s) only) answered: a libcurl without them must not send it. */
static CURLcode setup(struct s3 *s, struct call *c, const char *url, struct curl_slist *headers)
{
	CURL *h = s->curl;
	CURLcode rc;

	/* Reset between requests (the connection is kept): no option of one
	 * request leaks into the next. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	/* HTTP/1.1 even over TLS: the Host header libcurl signs is the one sent. */
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* Keys are data: "a/./b" must not be collapsed into "a/b". */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* The server is the box's own (a port-forward, or MinIO on its
	 * network): an http_proxy meant for the outside is not for it. */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
	/* USERNAME and PASSWORD rather than USERPWD: the password may hold ':'. */
	curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
	curl_easy_setopt(h, CURLOPT_PASSWORD, s->password);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	if (!strcmp(c->method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, c);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, c->in_size);
	} else if (!strcmp(c->method, "DELETE")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	if ((rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https")) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_AWS_SIGV4, SIGV4)) != CURLE_OK)
		return rc;
	return curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_AWS_SIGV4);
}

/* Runs the call; -1 with "MinIO: METHOD bucket/key: ..." for a transport
 * error or an answer that is not 2xx (c->status and c->code say which). */
static int perform(struct s3 *s, struct call *c, struct err *e)
{
	char hdr[100], target[1100];
	struct curl_slist *headers;
	char *url = call_url(s, c);
	CURLcode rc;

	snprintf(target, sizeof(target), "%s%s%s", c->bucket ? c->bucket : "/", c->key ? "/" : "",
		 c->key ? c->key : "");
	/* libcurl 7.88 signs this header's value as the payload hash; without
	 * it, it would sign the hash of an empty body even for an upload. */
	snprintf(hdr, sizeof(hdr), "x-amz-content-sha256: %s", c->sha[0] ? c->sha : EMPTY_SHA256);
	if (!url || !(headers = curl_slist_append(NULL, hdr))) {
		free(url);
		return err_set(e, EXIT_RUNTIME, "out of memory");
	}
	c->curl = s->curl;
	s->errbuf[0] = '\0';
	if ((rc = setup(s, c, url, headers)) != CURLE_OK) {
		curl_slist_free_all(headers);
		free(url);
		return err_set(e, EXIT_RUNTIME, "MinIO: this libcurl cannot sign S3 requests: %s",
			       curl_easy_strerror(rc));
	}
	rc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &c->status);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL); /* freed below */
	curl_slist_free_all(headers);
	free(url);
	if (rc != CURLE_OK && c->io_errno)
		return err_errno(e, c->io_errno, "MinIO: %s %s", c->method, target);
	if (rc != CURLE_OK && c->too_long)
		return err_set(e, EXIT_RUNTIME, "MinIO: %s %s: an answer over %zu bytes", c->method, target,
			       BODY_MAX);
	if (rc != CURLE_OK)
		return err_set(e, EXIT_RUNTIME, "MinIO: %s %s: %s", c->method, target,
			       s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
	if (c->status >= 200 && c->status < 300)
		return 0;
	s3_error_code(c->body, c->len, c->code, sizeof(c->code));
	return err_set(e, EXIT_RUNTIME, "MinIO: %s %s: %ld%s%s", c->method, target, c->status,
		       c->code[0] ? " " : "", c->code);
}

int s3_list_buckets(struct s3 *s, struct s3_list *names, struct err *e)
{
	struct call c = { .method = "GET", .in_fd = -1, .out_fd = -1 };
	int rc = perform(s, &c, e);

	if (!rc && s3_parse_buckets(c.body, c.len, names, e) < 0)
		rc = err_prefix(e, "MinIO: GET /");
	free(c.body);
	return rc;
}

/* One ListObjectsV2 page; *next as s3_parse_objects. */
static int list_page(struct s3 *s, const char *bucket, const char *token, struct s3_list *keys, char **next,
		     struct err *e)
{
	struct call c = { .method = "GET", .bucket = bucket, .in_fd = -1, .out_fd = -1 };
	char *enc = token ? s3_encode(token, 0) : NULL, *query = NULL;
	size_t before = keys->n;
	int rc;

	*next = NULL;
	/* The query is signed as written: its parameters in sorted order. */
	if ((token && !enc) || asprintf(&query, "%s%s%slist-type=2&max-keys=" PAGE_KEYS,
					enc ? "continuation-token=" : "", enc ? enc : "", enc ? "&" : "") < 0) {
		free(enc);
		return err_set(e, EXIT_RUNTIME, "out of memory");
	}
	c.query = query;
	rc = perform(s, &c, e);
	if (!rc && s3_parse_objects(c.body, c.len, keys, next, e) < 0)
		rc = err_prefix(e, "MinIO: GET %s", bucket);
	if (!rc && *next && keys->n == before) {
		free(*next);
		*next = NULL;
		rc = err_set(e, EXIT_RUNTIME, "MinIO: GET %s: a truncated list page without keys", bucket);
	}
	free(c.body);
	free(query);
	free(enc);
	return rc;
}

int s3_each_page(struct s3 *s, const char *bucket,
		 int (*fn)(const struct s3_list *keys, void *ctx, struct err *e), void *ctx, struct err *e)
{
	char *token = NULL, *next = NULL;
	int rc;

	do {
		struct s3_list keys = { 0 };

		rc = list_page(s, bucket, token, &keys, &next, e);
		if (!rc)
			rc = fn(&keys, ctx, e);
		s3_list_free(&keys);
		free(token);
		token = next;
		next = NULL;
	} while (!rc && token);
	free(token);
	return rc;
}

int s3_get_object(struct s3 *s, const char *bucket, const char *key, int fd, struct err *e)
{
	struct call c = { .method = "GET", .bucket = bucket, .key = key, .in_fd = -1, .out_fd = fd };
	int rc = perform(s, &c, e);

	free(c.body);
	return rc;
}

int s3_put_object(struct s3 *s, const char *bucket, const char *key, int fd, struct err *e)
{
	struct call c = { .method = "PUT", .bucket = bucket, .key = key, .in_fd = fd, .out_fd = -1 };
	long long size = 0;
	int rc;

	if (fd >= 0 && util_sha256_fd(fd, c.sha, &size, e) < 0)
		return err_prefix(e, "MinIO: PUT %s/%s", bucket, key);
	c.in_size = (curl_off_t)size;
	rc = perform(s, &c, e);
	free(c.body);
	return rc;
}

int s3_delete_object(struct s3 *s, const char *bucket, const char *key, struct err *e)
{
	struct call c = { .method = "DELETE", .bucket = bucket, .key = key, .in_fd = -1, .out_fd = -1 };
	int rc = perform(s, &c, e);

	free(c.body);
	return rc;
}

int s3_make_bucket(struct s3 *s, const char *bucket, struct err *e)
{
	struct call c = { .method = "PUT", .bucket = bucket, .in_fd = -1, .out_fd = -1 };
	int rc = perform(s, &c, e);

	if (rc && c.status == 409 && !strcmp(c.code, "BucketAlreadyOwnedByYou")) {
		err_clear(e);
		rc = 0;
	}
	free(c.body);
	return rc;
}
