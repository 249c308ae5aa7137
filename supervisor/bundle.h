/* Reading a bundle (bundle/FORMAT.md): open checks the compression, reads the
 * manifest and its signature and verifies them against the trusted keys
 * before a single payload byte is looked at; extract then streams every member
 * once, hashing while writing into a staging directory, with memory bounded by
 * fixed buffers whatever the bundle's size. */
#ifndef OUTPOST_BUNDLE_H
#define OUTPOST_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "manifest.h"

struct bundle;

/* `keys` is a directory of *.pub files or one public key file. */
int bundle_open(const char *path, const char *keys, struct bundle **out, struct err *e);

const struct manifest *bundle_manifest(const struct bundle *b);
/* The manifest's exact bytes and their SHA-256 (the bundle's identity). */
const char *bundle_manifest_bytes(const struct bundle *b, size_t *len);
const char *bundle_manifest_sha256(const struct bundle *b);

/* Reads the payload once. With `dirfd` >= 0 every member is written below that
 * (empty, private) directory; with -1 the payload is only verified. Progress
 * is reported unless `quiet`. On failure the caller removes the directory. */
int bundle_extract(struct bundle *b, int dirfd, int quiet, struct err *e);

void bundle_close(struct bundle *b);

/* Verifies and extracts into a fresh staging directory created inside
 * `parent` (mode 0700), returning its path (caller frees); on any failure the
 * staging directory is gone. */
int bundle_extract_staged(struct bundle *b, const char *parent, int quiet, char **staging,
			  struct err *e);

/* Removes a directory tree without following symlinks (the staging cleanup). */
int bundle_remove_tree(const char *path, struct err *e);

/* Builds a bundle from a lock file (bundle/bundle.lock: JSON with
 * bundle_version, k3s_version and inputs {source, path, role, sha256[, mode]},
 * sources relative to the lock file's directory): every input's hash is
 * checked while it is streamed into the archive, and the output appears
 * atomically only when all matched. */
int bundle_build(const char *lock, const char *key, const char *out, int quiet, struct err *e);

#endif
