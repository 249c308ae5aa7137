/* Ed25519 keys and signatures for bundles (OpenSSL EVP). A key's id is the
 * SHA-256 of its 32 raw public bytes, so a manifest can name its signer. */
#ifndef OUTPOST_SIGN_H
#define OUTPOST_SIGN_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"

#define SIGN_SIG_LEN 64
#define SIGN_KEYID_HEX 65 /* 64 hex digits + NUL */
#define SIGN_MAX_KEYS 64

/* Writes DIR/bundle-signing.key (PKCS#8 PEM, 0600) and DIR/bundle-signing.pub
 * (SubjectPublicKeyInfo PEM, 0644); refuses to overwrite an existing key. */
int sign_keygen(const char *dir, char id[SIGN_KEYID_HEX], struct err *e);

int sign_load_private(const char *path, EVP_PKEY **out, struct err *e);
int sign_load_public(const char *path, EVP_PKEY **out, struct err *e);
int sign_key_id(EVP_PKEY *key, char id[SIGN_KEYID_HEX], struct err *e);

int sign_data(EVP_PKEY *priv, const void *data, size_t len, unsigned char sig[SIGN_SIG_LEN],
	      struct err *e);
/* 0 when `sig` is `pub`'s signature of the data, -1 otherwise. */
int sign_verify(EVP_PKEY *pub, const void *data, size_t len, const unsigned char *sig, size_t siglen);

/* The trusted keys: every *.pub file of a directory, or one key file. */
struct sign_keyring {
	size_t n;
	EVP_PKEY *keys[SIGN_MAX_KEYS];
	char ids[SIGN_MAX_KEYS][SIGN_KEYID_HEX];
};

int sign_keyring_load(struct sign_keyring *ring, const char *path, struct err *e);
EVP_PKEY *sign_keyring_find(const struct sign_keyring *ring, const char *id);
void sign_keyring_free(struct sign_keyring *ring);

#endif
