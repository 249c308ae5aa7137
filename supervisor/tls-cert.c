/* Certificates in memory: issuing a tenant host's leaf from the appliance CA,
 * the renewal rule, and the checks on an operator's certificate. */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ssl-err.h"
#include "util.h"

/* Clocks of clients and of the box disagree a little; a certificate that
 * starts a few minutes back is not refused as "not yet valid". */
#define BACKDATE_SECONDS 300

void tls_pair_free(struct tls_pair *p)
{
	if (!p)
		return;
	free(p->cert_pem);
	if (p->key_pem) {
		OPENSSL_cleanse(p->key_pem, strlen(p->key_pem));
		free(p->key_pem);
	}
	memset(p, 0, sizeof(*p));
}

int tls_needs_renewal(time_t not_before, time_t not_after, time_t now)
{
	if (not_after <= not_before)
		return 1;
	return now - not_before >= (not_after - not_before) / 3 * 2;
}

EVP_PKEY *tls_new_key(void)
{
	return EVP_EC_gen("P-256");
}

/* A random positive 127-bit serial, as RFC 5280 asks (at most 20 octets). */
static int set_serial(X509 *x)
{
	unsigned char raw[16];
	struct err e = { 0 };
	BIGNUM *bn;
	int ok;

	if (util_random_bytes(raw, sizeof(raw), &e) < 0)
		return 0;
	raw[0] &= 0x7f;
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

X509 *tls_new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, time_t now,
		   int days, const char *const exts[][2])
{
	X509 *x = X509_new();
	X509_NAME *name;
	int ok;

	if (!x)
		return NULL;
	name = X509_get_subject_name(x);
	ok = X509_set_version(x, 2) && set_serial(x) &&
	     X509_time_adj_ex(X509_getm_notBefore(x), 0, -BACKDATE_SECONDS, &now) &&
	     X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) && X509_set_pubkey(x, key) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
					0) &&
	     X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	for (size_t i = 0; ok && exts[i][0]; i++)
		ok = add_ext(x, issuer ? issuer : x, OBJ_txt2nid(exts[i][0]), exts[i][1]);
	if (!ok || !X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Appends the PEM of x to a growing buffer; the buffer owns the text. */
static int pem_append(BIO *bio, X509 *x)
{
	return PEM_write_bio_X509(bio, x) == 1;
}

static char *bio_text(BIO *bio)
{
	char *data, *out;
	long len = BIO_get_mem_data(bio, &data);

	if (len < 0 || !(out = malloc((size_t)len + 1)))
		return NULL;
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	return out;
}

int tls_issue(const struct tls_ca *ca, const char *host, time_t now, struct tls_pair *out,
	      struct err *e)
{
	char san[300];
	const char *const exts[][2] = {
		{ "basicConstraints", "critical,CA:FALSE" },
		{ "keyUsage", "critical,digitalSignature" },
		{ "extendedKeyUsage", "serverAuth" },
		{ "subjectAltName", san },
		{ "subjectKeyIdentifier", "hash" },
		{ "authorityKeyIdentifier", "keyid:always" },
		{ NULL, NULL },
	};
	EVP_PKEY *key = NULL;
	X509 *leaf = NULL;
	BIO *cb = NULL, *kb = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!host[0] || strlen(host) > 253 || strpbrk(host, ",:= \t\n"))
		return err_set(e, EXIT_REFUSED, "certificate for '%.64s': not a host name", host);
	snprintf(san, sizeof(san), "DNS:%s", host);
	if (!(key = tls_new_key()) ||
	    !(leaf = tls_new_cert(key, host, ca->cert, ca->key, now, TLS_LEAF_DAYS, exts)) ||
	    !(cb = BIO_new(BIO_s_mem())) || !(kb = BIO_new(BIO_s_secmem()))) {
		err_set(e, EXIT_RUNTIME, "certificate for %s: %s", host, ssl_err_text());
		goto out;
	}
	if (!pem_append(cb, leaf) || !pem_append(cb, ca->cert) ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    !(out->cert_pem = bio_text(cb)) || !(out->key_pem = bio_text(kb))) {
		err_set(e, EXIT_RUNTIME, "certificate for %s: %s", host, ssl_err_text());
		tls_pair_free(out);
		goto out;
	}
	out->not_before = asn1_to_time(X509_get0_notBefore(leaf));
	out->not_after = asn1_to_time(X509_get0_notAfter(leaf));
	rc = 0;
out:
	BIO_free(cb);
	BIO_free(kb);
	X509_free(leaf);
	EVP_PKEY_free(key);
	return rc;
}

int tls_reusable(const struct tls_ca *ca, const char *cert_pem, const char *key_pem, const char *host,
		 time_t now, time_t *not_after)
{
	BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
	X509 *leaf = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	int ok = leaf && key && X509_verify(leaf, X509_get0_pubkey(ca->cert)) == 1 &&
		 X509_check_private_key(leaf, key) == 1 && X509_check_host(leaf, host, 0, 0, NULL) == 1 &&
		 !tls_needs_renewal(asn1_to_time(X509_get0_notBefore(leaf)),
				    asn1_to_time(X509_get0_notAfter(leaf)), now);

	if (ok)
		*not_after = asn1_to_time(X509_get0_notAfter(leaf));
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(leaf);
	BIO_free(cb);
	BIO_free(kb);
	return ok;
}

int tls_serves(const char *cert_pem, const char *host, time_t now)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	int ok = x && X509_check_host(x, host, 0, 0, NULL) == 1 &&
		 asn1_to_time(X509_get0_notAfter(x)) > now;

	ERR_clear_error();
	X509_free(x);
	BIO_free(bio);
	return ok;
}

time_t tls_not_after(const char *cert_pem)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	time_t t = x ? asn1_to_time(X509_get0_notAfter(x)) : 0;

	ERR_clear_error();
	X509_free(x);
	BIO_free(bio);
	return t;
}

void tls_ca_dir_for_state(const char *state_path, char *buf, size_t len)
{
	const char *slash = strrchr(state_path, '/');

	if (!slash)
		snprintf(buf, len, "ca");
	else
		snprintf(buf, len, "%.*s/ca", (int)(slash - state_path), state_path);
}

/* ---- an operator's certificate ---- */

static STACK_OF(X509) *read_chain(const char *pem)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;

	if (!chain || !bio)
		goto fail;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			goto fail;
		}
	ERR_clear_error(); /* the end of the text reads as an error */
	BIO_free(bio);
	return chain;
fail:
	BIO_free(bio);
	sk_X509_pop_free(chain, X509_free);
	return NULL;
}

static int covers(X509 *leaf, const struct tls_subject *s)
{
	char probe[300];

	if (!s->domain)
		return X509_check_host(leaf, s->host, 0, 0, NULL) == 1;
	/* A wildcard covers every label directly under the domain; a certificate
	 * for one host under it covers at most one of two made-up labels. */
	snprintf(probe, sizeof(probe), "outpost-probe-a.%s", s->domain);
	if (X509_check_host(leaf, probe, 0, 0, NULL) != 1)
		return 0;
	snprintf(probe, sizeof(probe), "outpost-probe-b.%s", s->domain);
	return X509_check_host(leaf, probe, 0, 0, NULL) == 1;
}

static int self_signed(X509 *x)
{
	return X509_check_issued(x, x) == X509_V_OK;
}

/* Verifies the leaf at `now` through the rest of the chain to a root: one
 * the chain carries, one from trusted_pem, or the system's. */
static int chain_verifies(STACK_OF(X509) *chain, const char *trusted_pem, time_t now,
			  const char **why)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *extra = NULL;
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok = 0;

	*why = "out of memory";
	if (!store || !ctx || !untrusted)
		goto out;
	if (trusted_pem) {
		if (!(extra = read_chain(trusted_pem)))
			goto out;
		for (int i = 0; i < sk_X509_num(extra); i++)
			X509_STORE_add_cert(store, sk_X509_value(extra, i));
	} else {
		X509_STORE_set_default_paths(store);
	}
	for (int i = 1; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (self_signed(x))
			X509_STORE_add_cert(store, x);
		else
			sk_X509_push(untrusted, x);
	}
	if (!X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), untrusted))
		goto out;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		*why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
out:
	ERR_clear_error();
	sk_X509_free(untrusted);
	sk_X509_pop_free(extra, X509_free);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

int tls_check_operator(const char *chain_pem, const char *key_pem, const struct tls_subject *s,
		       const char *trusted_pem, time_t now, time_t *not_after, struct err *e)
{
	const char *what = s->domain ? s->domain : s->host, *why;
	STACK_OF(X509) *chain = read_chain(chain_pem);
	BIO *kb = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *key = NULL;
	X509 *leaf;
	time_t nb, na;
	int rc = -1;

	if (!chain || !kb) {
		err_set(e, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	if (sk_X509_num(chain) == 0) {
		err_set(e, EXIT_REFUSED, "the certificate file holds no PEM certificate");
		goto out;
	}
	leaf = sk_X509_value(chain, 0);
	key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	ERR_clear_error();
	if (!key) {
		err_set(e, EXIT_REFUSED, "the key file holds no PEM private key (or it is encrypted)");
		goto out;
	}
	if (X509_check_private_key(leaf, key) != 1) {
		ERR_clear_error();
		err_set(e, EXIT_REFUSED, "the key does not match the certificate");
		goto out;
	}
	if (!covers(leaf, s)) {
		err_set(e, EXIT_REFUSED, "the certificate does not cover %s%s", s->domain ? "every host under " : "",
			what);
		goto out;
	}
	nb = asn1_to_time(X509_get0_notBefore(leaf));
	na = asn1_to_time(X509_get0_notAfter(leaf));
	if (nb > now) {
		err_set(e, EXIT_REFUSED, "the certificate is not valid yet");
		goto out;
	}
	if (na <= now) {
		err_set(e, EXIT_REFUSED, "the certificate has expired");
		goto out;
	}
	if (na - now < (time_t)TLS_IMPORT_MIN_DAYS * 86400) {
		err_set(e, EXIT_REFUSED, "the certificate expires in less than %d days", TLS_IMPORT_MIN_DAYS);
		goto out;
	}
	if (self_signed(leaf)) {
		err_set(e, EXIT_REFUSED,
			"the certificate is self-signed: give one issued by a CA, with its chain");
		goto out;
	}
	if (!chain_verifies(chain, trusted_pem, now, &why)) {
		err_set(e, EXIT_REFUSED, "the chain is incomplete or does not verify: %s", why);
		goto out;
	}
	*not_after = na;
	rc = 0;
out:
	EVP_PKEY_free(key);
	BIO_free(kb);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}
