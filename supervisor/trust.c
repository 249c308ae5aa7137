#include "trust.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "k3s.h"
#include "sign.h"
#include "util.h"

/* Enough for a PEM SubjectPublicKeyInfo; a bigger file is not a public key. */
#define TRUST_PUB_MAX 4096
#define TRUST_NAME_ID_CHARS 16

int trust_dir(const char *root, char *out, size_t cap, struct err *e)
{
	int n = strcmp(root, "/") ? snprintf(out, cap, "%s/%s", root, OUTPOST_KEYS_DIR)
				  : snprintf(out, cap, "%s", TRUST_DIR);

	if (n < 0 || (size_t)n >= cap)
		return err_set(e, EXIT_USAGE, "%s: path too long", root);
	return 0;
}

/* A store that does not load (missing, empty, a broken file) does not hold it. */
static int already_trusted(const char *dir, const char *id)
{
	struct sign_keyring ring;
	int found;

	if (sign_keyring_load(&ring, dir, NULL) < 0)
		return 0;
	found = sign_keyring_find(&ring, id) != NULL;
	sign_keyring_free(&ring);
	return found;
}

int trust_keep(const char *dir, const char *pub, char id[65], int *kept, struct err *e)
{
	char path[PATH_MAX], *text = NULL;
	EVP_PKEY *k;
	size_t len;
	int rc;

	/* Loading first: a private key or a wrong file is refused before any write. */
	if (sign_load_public(pub, &k, e) < 0)
		return -1;
	rc = sign_key_id(k, id, e);
	EVP_PKEY_free(k);
	if (rc < 0)
		return -1;
	*kept = !already_trusted(dir, id);
	if (!*kept)
		return 0;
	if (util_read_file(pub, TRUST_PUB_MAX, &text, &len, e) < 0)
		return -1;
	if (snprintf(path, sizeof(path), "%s/%.*s.pub", dir, TRUST_NAME_ID_CHARS, id) >=
	    (int)sizeof(path))
		rc = err_set(e, EXIT_USAGE, "%s: path too long", dir);
	else if (util_mkdir_p(dir, 0755, e) < 0 ||
		 util_write_atomic(path, text, len, 0644, e) < 0)
		rc = err_prefix(e, "keep trusted key %s", pub);
	free(text);
	return rc;
}
