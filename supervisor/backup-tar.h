/* A directory tree as one part of a backup (a plain tar inside the backup's
 * tar.gz) and back: for the parts a command line writes as many files (mc
 * mirror's buckets, kc.sh export's realms). Only directories and regular
 * files travel; names are relative and never leave the directory. */
#ifndef OUTPOST_BACKUP_TAR_H
#define OUTPOST_BACKUP_TAR_H

#include "err.h"

/* Packs `dir` into the tar `dst` (0600); with `only` (NULL-terminated
 * names), just those of its top-level entries that exist. */
int backup_tar_pack(const char *dir, const char *const *only, const char *dst, struct err *e);

/* 0 when `src` is a tar holding only safe relative names of directories and
 * regular files, each accepted by name_ok when given; else -1 with
 * EXIT_REFUSED. */
int backup_tar_verify(const char *src, int (*name_ok)(const char *name), struct err *e);

/* Unpacks into `dir`, which must exist (files 0600, directories 0700). */
int backup_tar_unpack(const char *src, const char *dir, struct err *e);

/* A work directory beside a part, "<part>.d", made 0700 (buf gets its path). */
int backup_tar_workdir(const char *part, char *buf, size_t cap, struct err *e);

/* Removes the work directory and everything in it; returns rc, or -1 when
 * the removal fails after a success. */
int backup_tar_workdone(const char *work, int rc, struct err *e);

#endif
