#include "sign.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ssl-err.h"
#include "util.h"

#define KEY_FILE_MAX (16 * 1024)

static int is_ed25519(EVP_PKEY *k)
{
	return EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
}

int sign_key_id(EVP_PKEY *key, char id[SIGN_KEYID_HEX], struct err *e)
{
	unsigned char raw[32], md[32];
	size_t len = sizeof(raw);
	unsigned int mdlen = 0;

	if (!is_ed25519(key) || EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32)
		return err_set(e, EXIT_REFUSED, "key is not an Ed25519 key");
	if (EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return err_set(e, EXIT_RUNTIME, "sha256: %s", ssl_err_text());
	util_hex(md, sizeof(md), id);
	return 0;
}

/* Reads a small PEM file into memory, then parses it with the given reader. */
static int load_pem(const char *path, int private, EVP_PKEY **out, struct err *e)
{
	char *pem = NULL;
	size_t len = 0;
	BIO *bio;
	EVP_PKEY *k;

	if (util_read_file(path, KEY_FILE_MAX, &pem, &len, e) < 0)
		return -1;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		free(pem);
		return err_set(e, EXIT_RUNTIME, "%s: out of memory", path);
	}
	k = private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
		    : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (!k)
		return err_set(e, EXIT_REFUSED, "%s: not a PEM %s key: %s", path,
			       private ? "private" : "public", ssl_err_text());
	if (!is_ed25519(k)) {
		EVP_PKEY_free(k);
		return err_set(e, EXIT_REFUSED, "%s: not an Ed25519 key", path);
	}
	*out = k;
	return 0;
}

int sign_load_private(const char *path, EVP_PKEY **out, struct err *e)
{
	return load_pem(path, 1, out, e);
}

int sign_load_public(const char *path, EVP_PKEY **out, struct err *e)
{
	return load_pem(path, 0, out, e);
}

static int write_pem(const char *path, EVP_PKEY *k, int private, struct err *e)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok, rc;

	if (!bio)
		return err_set(e, EXIT_RUNTIME, "%s: out of memory", path);
	ok = private ? PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_bio_PUBKEY(bio, k);
	if (!ok) {
		BIO_free(bio);
		return err_set(e, EXIT_RUNTIME, "%s: %s", path, ssl_err_text());
	}
	len = BIO_get_mem_data(bio, &data);
	rc = util_write_atomic(path, data, (size_t)len, private ? 0600 : 0644, e);
	if (private)
		OPENSSL_cleanse(data, (size_t)len);
	BIO_free(bio);
	return rc;
}

int sign_keygen(const char *dir, char id[SIGN_KEYID_HEX], struct err *e)
{
	char priv[PATH_MAX], pub[PATH_MAX];
	EVP_PKEY *k = NULL;
	int rc = -1;

	snprintf(priv, sizeof(priv), "%s/bundle-signing.key", dir);
	snprintf(pub, sizeof(pub), "%s/bundle-signing.pub", dir);
	if (access(priv, F_OK) == 0 || access(pub, F_OK) == 0)
		return err_set(e, EXIT_REFUSED, "%s: a signing key already exists there; not overwriting it",
			       dir);
	if (util_mkdir_p(dir, 0700, e) < 0)
		return -1;
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k)
		return err_set(e, EXIT_RUNTIME, "keygen: %s", ssl_err_text());
	if (sign_key_id(k, id, e) == 0 && write_pem(priv, k, 1, e) == 0 && write_pem(pub, k, 0, e) == 0)
		rc = 0;
	EVP_PKEY_free(k);
	return rc;
}

int sign_data(EVP_PKEY *priv, const void *data, size_t len, unsigned char sig[SIGN_SIG_LEN],
	      struct err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = SIGN_SIG_LEN;
	int ok;

	if (!ctx)
		return err_set(e, EXIT_RUNTIME, "sign: out of memory");
	/* Ed25519 is a one-shot scheme: no digest is named, the whole message is signed. */
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, priv) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, data, len) == 1 && siglen == SIGN_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return err_set(e, EXIT_RUNTIME, "sign: %s", ssl_err_text());
	return 0;
}

int sign_verify(EVP_PKEY *pub, const void *data, size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	int ok;

	if (siglen != SIGN_SIG_LEN)
		return -1;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -1;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

static int ring_add(struct sign_keyring *ring, const char *path, struct err *e)
{
	EVP_PKEY *k;

	if (ring->n == SIGN_MAX_KEYS)
		return err_set(e, EXIT_REFUSED, "%s: more than %d trusted keys", path, SIGN_MAX_KEYS);
	if (sign_load_public(path, &k, e) < 0)
		return -1;
	if (sign_key_id(k, ring->ids[ring->n], e) < 0) {
		EVP_PKEY_free(k);
		return -1;
	}
	ring->keys[ring->n++] = k;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sign_keyring_load(struct sign_keyring *ring, const char *path, struct err *e)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char *names[SIGN_MAX_KEYS + 1];
	size_t n = 0;
	int rc = 0;

	memset(ring, 0, sizeof(*ring));
	if (stat(path, &st) < 0) {
		/* No trust store means no bundle can be trusted: a refusal. */
		err_errno(e, errno, "trusted keys %s", path);
		if (e)
			e->exit_code = EXIT_REFUSED;
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return ring_add(ring, path, e);
	d = opendir(path);
	if (!d)
		return err_errno(e, errno, "trusted keys %s", path);
	while ((de = readdir(d)) != NULL && rc == 0) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".pub"))
			continue;
		if (n == SIGN_MAX_KEYS) {
			rc = err_set(e, EXIT_REFUSED, "trusted keys %s: more than %d keys", path,
				     SIGN_MAX_KEYS);
			break;
		}
		names[n] = util_path_join(path, de->d_name);
		if (!names[n])
			rc = err_errno(e, ENOMEM, "trusted keys %s", path);
		else
			n++;
	}
	closedir(d);
	/* Sorted so that a broken key is reported the same way every time. */
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && ring_add(ring, names[i], e) < 0)
			rc = -1;
		free(names[i]);
	}
	if (rc == 0 && ring->n == 0)
		rc = err_set(e, EXIT_REFUSED, "trusted keys %s: no *.pub key in the directory", path);
	if (rc < 0)
		sign_keyring_free(ring);
	return rc;
}

EVP_PKEY *sign_keyring_find(const struct sign_keyring *ring, const char *id)
{
	for (size_t i = 0; i < ring->n; i++)
		if (!strcmp(ring->ids[i], id))
			return ring->keys[i];
	return NULL;
}

void sign_keyring_free(struct sign_keyring *ring)
{
	if (!ring)
		return;
	for (size_t i = 0; i < ring->n; i++)
		EVP_PKEY_free(ring->keys[i]);
	ring->n = 0;
}
