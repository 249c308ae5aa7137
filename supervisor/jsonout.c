#include "jsonout.h"

#include <stdio.h>
#include <time.h>

json_t *jsonout_time(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	if (t == 0 || !gmtime_r(&tt, &tm))
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

int jsonout_print(json_t *doc, struct err *e)
{
	if (!doc)
		return err_set(e, EXIT_RUNTIME, "out of memory building JSON");
	if (json_dumpf(doc, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) == EOF) {
		json_decref(doc);
		return err_set(e, EXIT_RUNTIME, "write to standard output failed");
	}
	json_decref(doc);
	return 0;
}
