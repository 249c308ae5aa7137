/* A small S3 client, enough for the MinIO part of a backup: list buckets,
 * list a bucket's objects (every page), get an object into a file, put one
 * from a file, delete one, make a bucket. Requests are path-style
 * (URL/bucket/key) and signed with AWS Signature V4 by libcurl itself
 * (CURLOPT_AWS_SIGV4, region us-east-1); the answers' XML is read with
 * libxml2. libcurl 7.88 signs the hash of CURLOPT_POSTFIELDS (or of nothing)
 * unless an x-amz-content-sha256 header is given, so every request sends
 * that header: the empty body's hash, or the SHA-256 of the file a PUT
 * uploads, computed here first. TLS is verified for https URLs; the
 * credentials live in the client only and are cleansed by s3_close (libcurl
 * holds copies of them while a request is set up, which it frees without
 * cleansing). Each object goes in one PUT (no multipart upload), which
 * MinIO takes up to 5 TiB (AWS S3 up to 5 GiB).
 *
 * The parsing and encoding functions are pure, for the unit tests. */
#ifndef OUTPOST_S3_H
#define OUTPOST_S3_H

#include <stddef.h>

#include "err.h"

/* A growing list of strings (bucket names, object keys). */
struct s3_list {
	char **v;
	size_t n, cap;
};

int s3_list_add(struct s3_list *l, const char *s, size_t len, struct err *e);
void s3_list_sort(struct s3_list *l);
/* 1 when the sorted list holds s. */
int s3_list_has(const struct s3_list *l, const char *s);
void s3_list_free(struct s3_list *l);

/* S3's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper-case
 * hex); '/' too unless keep_slash (object keys in a path keep theirs).
 * Returns a malloc'd string, or NULL when out of memory. */
char *s3_encode(const char *s, int keep_slash);

/* ListAllMyBucketsResult: the names of its buckets, appended to names. */
int s3_parse_buckets(const char *xml, size_t len, struct s3_list *names, struct err *e);

/* ListBucketResult (ListObjectsV2): its keys, appended to keys; *next gets
 * the malloc'd NextContinuationToken when IsTruncated, else NULL. */
int s3_parse_objects(const char *xml, size_t len, struct s3_list *keys, char **next, struct err *e);

/* The <Code> of an S3 error body into code (empty when there is none). */
void s3_error_code(const char *xml, size_t len, char *code, size_t cap);

struct s3;

/* url: http(s)://HOST[:PORT], no path. user and password are copied. */
int s3_open(const char *url, const char *user, const char *password, struct s3 **out, struct err *e);
void s3_close(struct s3 *s);

int s3_list_buckets(struct s3 *s, struct s3_list *names, struct err *e);
/* Calls fn with the keys of each ListObjectsV2 page of the bucket in turn
 * (following continuation tokens), so a large bucket is never held whole;
 * fn may delete the keys it is given. A -1 from fn stops the listing. */
int s3_each_page(struct s3 *s, const char *bucket,
		 int (*fn)(const struct s3_list *keys, void *ctx, struct err *e), void *ctx, struct err *e);
/* The object's body written to fd. */
int s3_get_object(struct s3 *s, const char *bucket, const char *key, int fd, struct err *e);
/* The object's body read from fd (a regular file, from its start), or an
 * empty object when fd is -1. */
int s3_put_object(struct s3 *s, const char *bucket, const char *key, int fd, struct err *e);
int s3_delete_object(struct s3 *s, const char *bucket, const char *key, struct err *e);
/* Makes the bucket; one the caller already owns is not an error. */
int s3_make_bucket(struct s3 *s, const char *bucket, struct err *e);

#endif
