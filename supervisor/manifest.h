/* The bundle manifest (bundle/FORMAT.md section 3): strict parsing and
 * validation, lookup by member name, and the canonical serialisation. Pure:
 * no I/O, so the parser can be unit-tested and fuzzed on bytes. */
#ifndef OUTPOST_MANIFEST_H
#define OUTPOST_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MANIFEST_FORMAT 1
#define MANIFEST_MAX_BYTES (4u * 1024 * 1024)
#define MANIFEST_MAX_FILES 100000
#define MANIFEST_PATH_MAX 255
#define MANIFEST_NAME "manifest.json"
#define MANIFEST_SIG_NAME "manifest.json.sig"

struct manifest_file {
	char *path;
	char role[16];
	uint64_t size;
	unsigned mode; /* permission bits only */
	unsigned char sha256[32];
	int seen; /* set by the extractor */
};

enum manifest_link_type { MANIFEST_SYMLINK, MANIFEST_HARDLINK };

struct manifest_link {
	char *path;
	char *target;
	enum manifest_link_type type;
	int seen;
};

struct manifest {
	int format;
	char bundle_version[65];
	char k3s_version[65];
	char created[21];
	char key_id[65];
	struct manifest_file *files; /* sorted by path */
	size_t nfiles;
	struct manifest_link *links; /* sorted by path */
	size_t nlinks;
};

/* Reads only `key_id`, so the signature can be checked before the manifest is trusted. */
int manifest_key_id(const char *buf, size_t len, char id[65], struct err *e);

/* Parses and validates every rule of FORMAT.md; on failure nothing is allocated. */
int manifest_parse(const char *buf, size_t len, struct manifest *m, struct err *e);
void manifest_free(struct manifest *m);

/* FORMAT.md section 4 for a member name; `why` gets a short reason. */
int manifest_path_ok(const char *path, const char **why);
/* Is `name` ("a/b") a strict ancestor directory of some listed path? */
int manifest_is_dir(const struct manifest *m, const char *name);

struct manifest_file *manifest_find(const struct manifest *m, const char *path);
struct manifest_link *manifest_find_link(const struct manifest *m, const char *path);
/* The only file of a role meant to be unique (k3s-binary, platform, ...), or NULL. */
const struct manifest_file *manifest_find_role(const struct manifest *m, const char *role);

int manifest_role_ok(const char *role);
int manifest_version_ok(const char *s);

/* The canonical JSON (FORMAT.md "Canonical form"), malloc'd, NUL-terminated. */
char *manifest_serialize(const struct manifest *m, size_t *len);

#endif
