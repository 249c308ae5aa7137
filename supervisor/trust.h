/* Where the trusted bundle keys live, and keeping the key an operator gave
 * once with --pubkey (README.md, "Trust"). */
#ifndef OUTPOST_TRUST_H
#define OUTPOST_TRUST_H

#include <stddef.h>

#include "err.h"

/* Follows configure's --sysconfdir, like supervise.json. */
#define TRUST_DIR OUTPOST_SYSCONFDIR "/outpost/trusted-keys"

/* The trust store of the machine at `root`: TRUST_DIR for "/"; under a
 * prefix, the appliance's own layout <root>/etc/outpost/trusted-keys (where a
 * bundle's own key is laid out too). */
int trust_dir(const char *root, char *out, size_t cap, struct err *e);

/* Copies the public key file `pub` into `dir` as <key id prefix>.pub (0644,
 * written to a temporary file, fsynced and renamed), creating `dir`, unless a
 * key of `dir` already has its id (*kept says which). Refuses a file that is
 * not an Ed25519 public key. `id` gets the key's id. */
int trust_keep(const char *dir, const char *pub, char id[65], int *kept, struct err *e);

#endif
