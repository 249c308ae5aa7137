/* See job-state.h. */
#include "job-state.h"

#include <string.h>

json_t *job_failed_condition(json_t *obj)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *status = json_string_value(json_object_get(c, "status"));
		if (type && status && !strcmp(type, "Failed") && !strcmp(status, "True"))
			return c;
	}
	return NULL;
}

const char *job_failed_message(json_t *obj)
{
	json_t *c = job_failed_condition(obj);
	const char *m = json_string_value(json_object_get(c, "message"));

	if (!c)
		return NULL;
	return m && *m ? m : "failed";
}

enum diff_job job_state(json_t *job, const char **failure)
{
	json_int_t succeeded = json_integer_value(json_object_get(json_object_get(job, "status"),
								  "succeeded"));

	*failure = succeeded > 0 ? NULL : job_failed_message(job);
	return succeeded > 0 ? DIFF_JOB_SUCCEEDED : *failure ? DIFF_JOB_FAILED : DIFF_JOB_RUNNING;
}
