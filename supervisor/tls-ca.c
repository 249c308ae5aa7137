/* The appliance CA on disk: created once by `outpost install`, then only
 * read. The key never leaves the host (0600 in a 0700 directory). */
#include "tls.h"

#include <dirent.h>
#include <errno.h>
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

#define PEM_MAX (64 * 1024)

void tls_ca_free(struct tls_ca *ca)
{
	if (!ca)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	ca->cert = NULL;
	ca->key = NULL;
}

static int read_pem(const char *dir, const char *file, char **out, struct err *e)
{
	char path[PATH_MAX];
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return util_read_file(path, PEM_MAX, out, &len, e);
}

int tls_ca_load(const char *dir, struct tls_ca *ca, struct err *e)
{
	char *cert = NULL, *key = NULL;
	BIO *cb = NULL, *kb = NULL;
	int rc = -1;

	memset(ca, 0, sizeof(*ca));
	if (read_pem(dir, TLS_CA_CERT, &cert, e) < 0 || read_pem(dir, TLS_CA_KEY, &key, e) < 0)
		goto out;
	cb = BIO_new_mem_buf(cert, -1);
	kb = BIO_new_mem_buf(key, -1);
	if (!cb || !kb || !(ca->cert = PEM_read_bio_X509(cb, NULL, NULL, NULL)) ||
	    !(ca->key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL))) {
		err_set(e, EXIT_RUNTIME, "CA in %s: %s", dir, ssl_err_text());
		goto out;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		err_set(e, EXIT_RUNTIME, "CA in %s: %s does not match %s", dir, TLS_CA_KEY, TLS_CA_CERT);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		tls_ca_free(ca);
	BIO_free(cb);
	BIO_free(kb);
	free(cert);
	if (key) {
		OPENSSL_cleanse(key, strlen(key));
		free(key);
	}
	return rc;
}

/* Writes one PEM file from a memory BIO, atomically. */
static int write_bio(const char *dir, const char *file, BIO *bio, mode_t mode, struct err *e)
{
	char path[PATH_MAX], *data;
	long len = BIO_get_mem_data(bio, &data);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return util_write_atomic(path, data, (size_t)len, mode, e);
}

static int create(const char *dir, const char *name, struct err *e)
{
	const char *const exts[][2] = {
		{ "basicConstraints", "critical,CA:TRUE,pathlen:0" },
		{ "keyUsage", "critical,keyCertSign,cRLSign" },
		{ "subjectKeyIdentifier", "hash" },
		{ NULL, NULL },
	};
	char cn[128];
	EVP_PKEY *key = tls_new_key();
	X509 *cert = NULL;
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_secmem());
	int rc = -1;

	snprintf(cn, sizeof(cn), "Outpost appliance CA (%.80s)", name);
	if (!key || !cb || !kb || !(cert = tls_new_cert(key, cn, NULL, NULL, time(NULL), TLS_CA_DAYS, exts)) ||
	    PEM_write_bio_X509(cb, cert) != 1 ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1) {
		err_set(e, EXIT_RUNTIME, "create the CA: %s", ssl_err_text());
		goto out;
	}
	/* The key first: a certificate without its key would be loaded and
	 * refused at every start; a key without its certificate is replaced. */
	if (write_bio(dir, TLS_CA_KEY, kb, 0600, e) < 0 || write_bio(dir, TLS_CA_CERT, cb, 0644, e) < 0)
		goto out;
	rc = 0;
out:
	BIO_free(cb);
	BIO_free(kb);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

/* What a write killed half-way left (util_write_atomic's "<file>.tmp.<pid>"):
 * the next install makes the CA again and must not leave it behind. */
static void remove_stale(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, TLS_CA_KEY ".tmp.", sizeof(TLS_CA_KEY ".tmp.") - 1) ||
		    !strncmp(de->d_name, TLS_CA_CERT ".tmp.", sizeof(TLS_CA_CERT ".tmp.") - 1)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
}

int tls_ca_ensure(const char *dir, const char *name, int *created, struct err *e)
{
	char path[PATH_MAX];
	struct tls_ca ca;
	struct stat st;

	*created = 0;
	/* Only root reads the key: the directory is 0700 even if someone made it wider. */
	if (util_mkdir_p(dir, 0700, e) < 0)
		return -1;
	if (chmod(dir, 0700) < 0)
		return err_errno(e, errno, "%s", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, TLS_CA_CERT);
	if (stat(path, &st) == 0) {
		if (tls_ca_load(dir, &ca, e) < 0)
			return -1;
		tls_ca_free(&ca);
		return 0;
	}
	if (errno != ENOENT)
		return err_errno(e, errno, "%s", path);
	remove_stale(dir);
	if (create(dir, name, e) < 0)
		return -1;
	*created = 1;
	return 0;
}
