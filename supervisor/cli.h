/* Command-line plumbing shared by the command files (cmd-*.c). */
#ifndef OUTPOST_CLI_H
#define OUTPOST_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

#define OUTPOST_DEFAULT_STATE "/var/lib/outpost/state.db"

/* What every command gets: the global options, resolved once. */
struct cli {
	const char *state_path; /* --state, else $OUTPOST_STATE, else OUTPOST_DEFAULT_STATE */
	const char *datadir;    /* $OUTPOST_DATADIR, else the installed data directory */
	const char *profile;    /* --profile / $OUTPOST_PROFILE: hardware profile file, or NULL to detect */
	struct err err;         /* set by a command that returns non-zero */
};

/* A command returns 0, or -1 with cli->err set; the exit code comes from cli->err. */
typedef int (*cli_fn)(struct cli *cli, int argc, char **argv);

struct cli_command {
	const char *name;
	cli_fn run;
	const char *summary;
};

/* Runs argv[0] from `table` (argv[0] is the command name); `group` names the
 * parent for messages ("tenant"), or NULL at the top level. `--help` or no
 * command prints the table. */
int cli_dispatch(struct cli *cli, const char *group, const struct cli_command *table,
		 size_t n, int argc, char **argv);

/* The usage error for getopt's '?' or ':' return: names the bad option. Returns -1. */
int cli_bad_option(struct cli *cli, const char *cmd, char **argv, int optopt_char);

/* Parses the options of a command that has none but --help (operands are
 * left at argv[optind..]). Returns 1 when --help was printed, 0 to go on, -1
 * on a usage error. */
int cli_parse_help_only(struct cli *cli, const char *what, const char *usage, int argc,
			char **argv);

/* A usage error (exit 2) with a pointer to the command's --help. Returns -1. */
int cli_usage(struct cli *cli, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A command that changes the machine itself (root "/") needs root: says so in
 * one line (exit 1) rather than failing later on the first file it cannot
 * write. Under --root DIR it is the caller's own tree. Returns 0 or -1. */
int cli_need_root(struct cli *cli, const char *cmd, const char *root);

/* The commands of `table`, for --help (or, on a usage error, stderr). */
void cli_print_commands(FILE *out, const char *group, const struct cli_command *table, size_t n);

/* Fills `cli` from the environment and the global options in front of the
 * command name (--state, --profile). Returns the index of the command name
 * in argv, or -1 with cli->err set. --help and --version stop the parse and
 * set *special to 'h' or 'V' (else 0). */
int cli_parse_globals(struct cli *cli, int argc, char **argv, int *special);

/* Entry point used by main() (cli-main.c). Returns the process exit code. */
int cli_main(int argc, char **argv);

#endif
