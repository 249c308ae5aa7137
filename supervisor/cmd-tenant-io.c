/* `outpost tenant import FILE` and `outpost tenant export`: JSON lines, one
 * tenant per line, in tenant_to_json's shape. An import is one transaction:
 * every bad line is reported with its number, then nothing is written. */
#include "cmd-tenant.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define IMPORT_FILE_MAX (256u << 20)

static const char import_usage[] =
	"Usage: outpost tenant import FILE\n"
	"Adds the tenants in FILE (JSON lines, one tenant per line, as 'tenant export' writes;\n"
	"'-' reads standard input). All or nothing: every bad line is reported with its number\n"
	"and then nothing is written (exit 3). Admitted like an add.\n";

static int read_input(const char *file, char **text, struct err *e)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;

	if (strcmp(file, "-") != 0)
		return util_read_file(file, IMPORT_FILE_MAX, text, NULL, e);
	for (;;) {
		if (n + 65536 + 1 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 131072);
			if (!nb) {
				free(buf);
				return err_errno(e, ENOMEM, "read standard input");
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, stdin);
		n += r;
		if (n > IMPORT_FILE_MAX) {
			free(buf);
			return err_set(e, EXIT_RUNTIME, "standard input: larger than %u bytes",
				       IMPORT_FILE_MAX);
		}
		if (r == 0)
			break;
	}
	buf[n] = '\0';
	*text = buf;
	return 0;
}

/* One line: parse, validate, insert (still inside the transaction). */
static int import_line(struct state *st, const char *line, const struct plan *plans, size_t nplans,
		       struct err *e)
{
	json_error_t jerr;
	json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	struct tenant t;
	char *owner = NULL;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	if (!obj)
		return err_set(e, EXIT_REFUSED, "not JSON: %s (column %d)", jerr.text, jerr.column);
	if (tenant_from_json(obj, &t, e) < 0 || tenant_validate(&t, plans, nplans, e) < 0)
		goto out;
	for (size_t i = 0; i < t.nvalues; i++)
		if (tenant_check_set_key(t.values[i].key, e) < 0)
			goto out;
	if (state_tenant_host_owner(st, t.host, t.name, &owner, e) < 0)
		goto out;
	if (owner) {
		err_set(e, EXIT_REFUSED, "host '%s': already used by tenant '%s'", t.host, owner);
		goto out;
	}
	if (state_tenant_insert(st, &t, e) < 0 ||
	    state_event_append(st, t.name, false, "Created", e, "tenant import by the CLI") < 0)
		goto out;
	rc = 0;
out:
	free(owner);
	tenant_clear(&t);
	json_decref(obj);
	return rc;
}

static int is_blank(const char *s)
{
	return s[strspn(s, " \t\r")] == '\0';
}

int cmd_tenant_import(struct cli *cli, int argc, char **argv)
{
	struct admission adm;
	struct state *st = NULL;
	char fresh[PATH_MAX] = "";
	bool committed = false;
	int finished = 0;
	struct plan *plans = NULL;
	size_t nplans = 0, lineno = 0, bad = 0, added = 0;
	char *text = NULL, *line, *next;
	const char *file;
	int rc = cli_parse_help_only(cli, "tenant import", import_usage, argc, argv);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (optind != argc - 1)
		return cli_usage(cli, "tenant import", optind >= argc ? "missing FILE" : "expected one FILE");
	file = argv[optind];
	rc = -1;
	if (read_input(file, &text, &cli->err) < 0) {
		err_prefix(&cli->err, "tenant import");
		goto out;
	}
	if (tenant_cmd_admission(cli, "import", &adm) < 0 ||
	    tenant_cmd_open_write(cli, "import", &st, fresh) < 0)
		goto out;
	if (state_begin(st, &cli->err) < 0 || state_plan_list(st, &plans, &nplans, &cli->err) < 0) {
		err_prefix(&cli->err, "tenant import");
		goto out;
	}
	for (line = text; line && *line; line = next) {
		struct err le = { 0 };
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (is_blank(line))
			continue;
		if (import_line(st, line, plans, nplans, &le) < 0) {
			if (le.exit_code != EXIT_REFUSED) {
				cli->err = le;
				err_prefix(&cli->err, "tenant import: %s:%zu", file, lineno);
				goto out;
			}
			fprintf(stderr, "outpost: tenant import: %s:%zu: %s\n", file, lineno, le.msg);
			bad++;
		} else {
			added++;
		}
	}
	if (bad) {
		err_set(&cli->err, EXIT_REFUSED, "tenant import: %s: %zu bad line%s; nothing imported",
			file, bad, bad == 1 ? "" : "s");
		goto out;
	}
	if (admission_check(st, &adm, &cli->err) < 0 || state_commit(st, &cli->err) < 0) {
		err_prefix(&cli->err, "tenant import: %s: nothing imported", file);
		goto out;
	}
	committed = true;
out:
	finished = tenant_cmd_finish(cli, "import", st, fresh, committed);
	/* Not run again: the input may have been stdin, read once. */
	if (finished == -EEXIST)
		err_set(&cli->err, EXIT_RUNTIME,
			"tenant import: state %s: created by another command meanwhile; nothing "
			"imported, run it again", cli->state_path);
	if (finished == 0 && committed) {
		printf("imported %zu tenant%s from %s\n", added, added == 1 ? "" : "s", file);
		rc = 0;
	}
	free(plans);
	free(text);
	return rc;
}

int cmd_tenant_export(struct cli *cli, int argc, char **argv)
{
	struct state *st = NULL;
	struct tenant_list l = { 0 };
	int rc = cli_parse_help_only(cli, "tenant export",
				 "Usage: outpost tenant export\n"
				 "Prints every tenant as one JSON line, the format 'tenant import' reads.\n",
				 argc, argv);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (optind != argc)
		return cli_usage(cli, "tenant export", "takes no arguments");
	rc = -1;
	if (tenant_cmd_open(cli, "export", &st) < 0)
		goto out;
	if (state_tenant_list(st, &l, &cli->err) < 0) {
		err_prefix(&cli->err, "tenant export");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		json_t *o = tenant_to_json(&l.v[i]);
		if (!o || json_dumpf(o, stdout, JSON_COMPACT) < 0 || putchar('\n') == EOF) {
			json_decref(o);
			err_set(&cli->err, EXIT_RUNTIME, "tenant export: write to standard output failed");
			goto out;
		}
		json_decref(o);
		if (l.v[i].invalid)
			fprintf(stderr, "outpost: tenant export: tenant %s is invalid: %s\n", l.v[i].name,
				l.v[i].invalid);
	}
	if (fflush(stdout) == EOF) {
		err_set(&cli->err, EXIT_RUNTIME, "tenant export: write to standard output failed");
		goto out;
	}
	rc = 0;
out:
	tenant_list_free(&l);
	state_close(st);
	return rc;
}
