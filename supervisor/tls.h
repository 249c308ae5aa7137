/* HTTPS for tenant hosts without the outside: the appliance's own CA, a
 * short-lived certificate per tenant host issued by it, and the checks an
 * operator's certificate must pass before Outpost stores it.
 *
 * tls-ca.c is the file edge (the CA's key and certificate on disk);
 * tls-cert.c makes and checks certificates in memory. Everything here uses
 * OpenSSL's libcrypto only. */
#ifndef OUTPOST_TLS_H
#define OUTPOST_TLS_H

#include <stdbool.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

/* Under the install root: 0700, the key 0600. Removed by `outpost reset`
 * only with the state (not with --keep-state). */
#define TLS_CA_DIR "var/lib/outpost/ca"
#define TLS_CA_CERT "ca.crt"
#define TLS_CA_KEY "ca.key"

#define TLS_CA_DAYS 3650
#define TLS_LEAF_DAYS 90
/* An operator's certificate must be valid for at least this long when it is
 * imported; Outpost warns this many days before it expires. */
#define TLS_IMPORT_MIN_DAYS 7
#define TLS_EXPIRY_WARN_DAYS 14

struct tls_ca {
	X509 *cert;
	EVP_PKEY *key;
};

/* Creates the CA in dir (an ECDSA P-256 key and a self-signed certificate,
 * each written atomically) unless one is there; *created says which. An
 * existing CA is loaded and checked (key matches certificate), never
 * replaced: certificates issued by it stay valid across upgrades. */
int tls_ca_ensure(const char *dir, const char *name, int *created, struct err *e);
int tls_ca_load(const char *dir, struct tls_ca *ca, struct err *e);
void tls_ca_free(struct tls_ca *ca);

/* Shared by tls-ca.c and tls-cert.c: a new ECDSA P-256 key, and a
 * certificate for it named cn, valid from a few minutes before now for
 * `days`, with the extensions exts ({name, value} pairs ending with {NULL,
 * NULL}), signed by issuer/issuer_key, or self-signed when issuer is NULL. */
EVP_PKEY *tls_new_key(void);
X509 *tls_new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, time_t now,
		   int days, const char *const exts[][2]);

/* A certificate and its key, PEM; dates as Unix times. */
struct tls_pair {
	char *cert_pem; /* the leaf, then the CA certificate */
	char *key_pem;
	time_t not_before, not_after;
	bool from_operator; /* an operator's (tls import), not the CA's */
};
void tls_pair_free(struct tls_pair *p);

/* A leaf for one host (SAN dNSName = host, serverAuth), valid from a few
 * minutes before now for TLS_LEAF_DAYS, signed by the CA. */
int tls_issue(const struct tls_ca *ca, const char *host, time_t now, struct tls_pair *out,
	      struct err *e);

/* 1 when cert_pem (leaf first) and key_pem are a pair this CA issued for
 * host and not yet due for renewal at now: the reconciler keeps it. 0 when
 * it must be issued again (another host, another CA, a foreign key, damaged
 * text, or two thirds of its life gone). With 1, *not_after is its end. */
int tls_reusable(const struct tls_ca *ca, const char *cert_pem, const char *key_pem, const char *host,
		 time_t now, time_t *not_after);

/* The CA directory next to a state file: <dir of state_path>/ca. */
void tls_ca_dir_for_state(const char *state_path, char *buf, size_t len);

/* 1 once two thirds of [not_before, not_after] have passed (or the dates
 * make no sense), else 0. Pure. */
int tls_needs_renewal(time_t not_before, time_t not_after, time_t now);

/* What an operator's certificate must cover: one host, or (domain set)
 * every host directly under a domain, as a wildcard certificate does. */
struct tls_subject {
	const char *host;
	const char *domain;
};

/* Checks an operator's certificate before anything is stored: the first
 * certificate of chain_pem is the leaf, the rest its chain. Refuses (exit
 * 3, naming the reason) a key that does not match, a leaf that does not
 * cover the subject, one not valid at now or expiring within
 * TLS_IMPORT_MIN_DAYS, a self-signed leaf, and a chain that does not reach a
 * root (one in chain_pem, in trusted_pem when given, or in the system's
 * store). Sets *not_after. */
int tls_check_operator(const char *chain_pem, const char *key_pem, const struct tls_subject *s,
		       const char *trusted_pem, time_t now, time_t *not_after, struct err *e);

/* Operators' certificates (`outpost tls import`), kept next to the state
 * file: <state dir>/tls/{tenant,domain}/<subject>.{crt,key}, every file 0600
 * in 0700 directories. One for a tenant serves its host; one for a domain
 * (a wildcard) serves every tenant host directly under it. They take the
 * place of the appliance CA's and are never renewed by Outpost. */
enum tls_kind { TLS_KIND_TENANT, TLS_KIND_DOMAIN };

void tls_store_dir_for_state(const char *state_path, char *buf, size_t len);
/* Writes the key, then the certificate, each atomically. */
int tls_store_put(const char *dir, enum tls_kind kind, const char *subject, const char *cert_pem,
		  const char *key_pem, struct err *e);
/* 0 and *out filled when there is one, 1 when there is none, -1 on error. */
int tls_store_get(const char *dir, enum tls_kind kind, const char *subject, struct tls_pair *out,
		  struct err *e);
/* 0 removed, 1 there was none. */
int tls_store_rm(const char *dir, enum tls_kind kind, const char *subject, struct err *e);
/* The certificate that serves `host` for tenant `tenant`: the tenant's own,
 * else one for the domain `host` is directly under. 0 found, 1 none. */
int tls_store_for_host(const char *dir, const char *tenant, const char *host, struct tls_pair *out,
		       struct err *e);
/* Calls fn for every stored certificate, tenants' then domains', each by
 * name, with the date it expires. */
void tls_store_each(const char *dir, void (*fn)(enum tls_kind kind, const char *subject, time_t not_after,
						void *ud),
		    void *ud);
/* One line on the certificate that serves tenant `tenant` at `host`: an
 * operator's with its expiry (and a warning within TLS_EXPIRY_WARN_DAYS),
 * or the appliance CA's. */
void tls_store_describe(const char *dir, const char *tenant, const char *host, time_t now, char *buf,
			size_t len);

/* 1 when the first certificate of cert_pem covers host and has not expired at now. */
int tls_serves(const char *cert_pem, const char *host, time_t now);
/* The date a PEM certificate (its first) stops being valid, or 0. */
time_t tls_not_after(const char *cert_pem);

#endif
