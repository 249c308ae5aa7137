/* Small file-system and byte helpers shared by every module. */
#ifndef OUTPOST_UTIL_H
#define OUTPOST_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Creates `path` and its missing parents with `mode`; existing directories are left as they are. */
int util_mkdir_p(const char *path, mode_t mode, struct err *e);

/* Replaces `path` atomically: writes a temporary file in the same directory,
 * fsyncs it, renames it over `path` and fsyncs the directory, so a crash leaves
 * either the old content or the new, never a mix. */
int util_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *e);

/* fsyncs the directory holding `path` so a rename or unlink in it is durable. */
int util_fsync_parent(const char *path, struct err *e);

/* Reads a whole file (at most `max` bytes) into a NUL-terminated buffer the caller frees. */
int util_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e);

/* 0 when `path` is a regular file that only its owner may read (mode 0600 or
 * less), as a file holding a password must be; else -1 with a message naming
 * it as `what` (EXIT_USAGE, or EXIT_RUNTIME when it cannot be looked at). */
int util_check_private_file(const char *what, const char *path, struct err *e);

/* Fills `buf` from OpenSSL's CSPRNG. */
int util_random_bytes(void *buf, size_t len, struct err *e);

/* Lower-case hex of `len` bytes into `out`, which holds 2*len+1 bytes. */
void util_hex(const unsigned char *in, size_t len, char *out);

/* The SHA-256 (lower-case hex) and size of the whole file `fd` refers to,
 * read with pread from its start: the file offset is left where it was. */
int util_sha256_fd(int fd, char hex[65], long long *size, struct err *e);

/* Joins a directory and a relative path into a new string (caller frees); NULL on OOM. */
char *util_path_join(const char *dir, const char *rel);

/* For the crash tests of multi-step commands (install, reset): the step
 * numbered by *counter (then incremented) kills the process with SIGKILL when
 * $OUTPOST_TEST_CRASH_AT names it, so a test can interrupt at every point. */
void util_test_crash_point(unsigned *counter);

#endif
