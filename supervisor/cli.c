#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

void cli_print_commands(FILE *out, const char *group, const struct cli_command *table, size_t n)
{
	fprintf(out, "Usage: outpost [--state PATH] [--profile FILE] %s%s<command> [options]\n\nCommands:\n",
		group ? group : "", group ? " " : "");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-14s %s\n", table[i].name, table[i].summary);
	fprintf(out, "\nRun 'outpost %s%s<command> --help' for a command's options.\n",
		group ? group : "", group ? " " : "");
}

int cli_usage(struct cli *cli, const char *cmd, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(&cli->err, EXIT_USAGE, "%s: %s (see 'outpost %s --help')", cmd, what, cmd);
}

int cli_need_root(struct cli *cli, const char *cmd, const char *root)
{
	if (geteuid() == 0 || (root && strcmp(root, "/")))
		return 0;
	return err_set(&cli->err, EXIT_RUNTIME,
		       "%s: needs root: it changes the system (run it as root, or give --root DIR "
		       "for a tree of your own)", cmd);
}

int cli_bad_option(struct cli *cli, const char *cmd, char **argv, int optopt_char)
{
	/* getopt has advanced optind past the offending word; argv[optind - 1] is it. */
	const char *word = argv[optind - 1];

	if (optopt_char && word[0] == '-' && word[1] != '-')
		return cli_usage(cli, cmd, "unknown option or missing value for '-%c'", optopt_char);
	return cli_usage(cli, cmd, "unknown option or missing value: '%s'", word);
}

int cli_parse_help_only(struct cli *cli, const char *what, const char *usage, int argc,
			char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option(cli, what, argv, optopt);
		fputs(usage, stdout);
		return 1;
	}
	return 0;
}

int cli_dispatch(struct cli *cli, const char *group, const struct cli_command *table,
		 size_t n, int argc, char **argv)
{
	const char *name = argc > 0 ? argv[0] : NULL;

	if (!name || !strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		cli_print_commands(name ? stdout : stderr, group, table, n);
		if (name)
			return 0;
		return err_set(&cli->err, EXIT_USAGE, "%s%smissing command (see 'outpost %s%s--help')",
			       group ? group : "", group ? ": " : "", group ? group : "", group ? " " : "");
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i].name, name))
			return table[i].run(cli, argc, argv);
	return err_set(&cli->err, EXIT_USAGE, "%s%sunknown command '%s' (see 'outpost %s%s--help')",
		       group ? group : "", group ? ": " : "", name, group ? group : "",
		       group ? " " : "");
}

int cli_parse_globals(struct cli *cli, int argc, char **argv, int *special)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*special = 0;
	cli->state_path = getenv("OUTPOST_STATE");
	if (!cli->state_path || !*cli->state_path)
		cli->state_path = OUTPOST_DEFAULT_STATE;
	cli->datadir = getenv("OUTPOST_DATADIR");
	if (!cli->datadir || !*cli->datadir)
		cli->datadir = OUTPOST_DATADIR;
	cli->profile = getenv("OUTPOST_PROFILE");
	if (cli->profile && !*cli->profile)
		cli->profile = NULL;

	/* '+' stops at the command name: the rest of argv belongs to the command. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli->state_path = optarg;
			break;
		case 'p':
			cli->profile = optarg;
			break;
		case 'h':
		case 'V':
			*special = c;
			return optind;
		default:
			return err_set(&cli->err, EXIT_USAGE,
				       "unknown option or missing value: '%s' (see 'outpost --help')",
				       argv[optind - 1]);
		}
	}
	return optind;
}
