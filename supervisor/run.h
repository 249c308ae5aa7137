/* Running another program (systemctl, dpkg) and waiting for it. */
#ifndef OUTPOST_RUN_H
#define OUTPOST_RUN_H

#include <stddef.h>

#include "err.h"

/* Runs argv[0] (looked up in PATH) with the process's environment and waits.
 * With `out`, its stdout is read into out (NUL-terminated, at most cap - 1
 * bytes kept) and its stderr discarded; without, both are inherited.
 * With `status`, any exit code is a success and is stored there; without, an
 * exit code other than 0 is an error naming the command. A program that
 * cannot be started or dies by a signal is always an error. */
int run_argv(char *const argv[], char *out, size_t cap, int *status, struct err *e);

/* Like run_argv without `out` and `status`, with stdin read from `in_path`
 * and stdout written to `out_path` (created 0600, truncated), either NULL
 * to inherit; stderr is inherited. For the data a client streams. */
int run_argv_io(char *const argv[], const char *in_path, const char *out_path, struct err *e);

#endif
