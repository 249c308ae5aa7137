/* ownership_patch: the JSON patch that moves Outpost's POST-time field
 * ownership (its Update entry) into its Apply entry. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "../supervisor/ownership.h"

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);

	ck_assert_msg(v != NULL, "%s: %s", text, je.text);
	return v;
}

/* The patch for `metadata`, compared with `want` as JSON (NULL: none). */
static void expect_patch(const char *metadata, const char *want)
{
	json_t *md = parse(metadata);
	char *patch = NULL;
	int rc = ownership_patch(md, "outpost", &patch);

	if (!want) {
		ck_assert_int_eq(rc, 0);
		ck_assert_ptr_null(patch);
	} else {
		json_t *got, *w = parse(want);
		ck_assert_int_eq(rc, 1);
		got = parse(patch);
		ck_assert_msg(json_equal(got, w), "got %s, want %s", patch, want);
		json_decref(got);
		json_decref(w);
	}
	free(patch);
	json_decref(md);
}

#define UPDATE(fields) "{\"manager\": \"outpost\", \"operation\": \"Update\", \"apiVersion\": \"v1\"," \
	" \"fieldsType\": \"FieldsV1\", \"fieldsV1\": " fields "}"
#define APPLY_OTHER "{\"manager\": \"kubectl\", \"operation\": \"Apply\", \"fieldsType\": \"FieldsV1\"," \
	" \"fieldsV1\": {\"f:data\": {}}}"
#define APPLY(fields) "{\"manager\": \"outpost\", \"operation\": \"Apply\", \"apiVersion\": \"v1\"," \
	" \"fieldsType\": \"FieldsV1\", \"fieldsV1\": " fields "}"

START_TEST(created_only_becomes_apply)
{
	/* Created by POST, never applied: the Update entry becomes the Apply
	 * entry, in place; another manager's entry is left alone. */
	expect_patch("{\"resourceVersion\": \"42\", \"managedFields\": ["
		     "{\"manager\": \"kubectl-label\", \"operation\": \"Update\", \"fieldsType\": \"FieldsV1\","
		     " \"fieldsV1\": {\"f:metadata\": {\"f:labels\": {\"f:x\": {}}}}}, "
		     UPDATE("{\"f:data\": {\"f:a\": {}}}") "]}",
		     "[{\"op\": \"test\", \"path\": \"/metadata/resourceVersion\", \"value\": \"42\"},"
		     " {\"op\": \"replace\", \"path\": \"/metadata/managedFields/1/operation\", \"value\": \"Apply\"}]");
}
END_TEST

START_TEST(rename_from_what_a_list_keeps)
{
	/* What the reconciler builds from a listed object's resourceVersion and
	 * Update index: the same patch as from the whole object. */
	json_t *md = parse("{\"resourceVersion\": \"42\", \"managedFields\": ["
			   APPLY_OTHER ", " UPDATE("{\"f:data\": {}}") "]}");
	struct ownership at = ownership_find(md, "outpost");
	char *full = NULL, *kept;

	ck_assert_int_eq(at.update, 1);
	ck_assert_int_eq(at.apply, -1);
	ck_assert_int_eq(ownership_patch(md, "outpost", &full), 1);
	kept = ownership_rename_patch("42", (size_t)at.update);
	ck_assert_ptr_nonnull(kept);
	ck_assert_str_eq(kept, full);
	free(kept);
	free(full);
	json_decref(md);
	/* Both entries found where they are; a subresource entry is not ours. */
	md = parse("{\"managedFields\": [" APPLY("{}") ", {\"manager\": \"outpost\", \"operation\": \"Update\","
		   " \"subresource\": \"status\"}, " UPDATE("{}") "]}");
	at = ownership_find(md, "outpost");
	ck_assert_int_eq(at.apply, 0);
	ck_assert_int_eq(at.update, 2);
	json_decref(md);
}
END_TEST

START_TEST(created_and_applied_are_merged)
{
	/* Both entries: the Apply entry gets the union of the two sets (the
	 * tries merged level by level), the Update entry goes. */
	expect_patch("{\"resourceVersion\": \"7\", \"managedFields\": ["
		     UPDATE("{\"f:data\": {\"f:a\": {}, \"f:old\": {}}, \"f:metadata\": {\"f:labels\": {\"f:gone\": {}}}}") ", "
		     APPLY("{\"f:data\": {\"f:a\": {}, \"f:new\": {}}, \"f:spec\": {\".\": {}}}") "]}",
		     "[{\"op\": \"test\", \"path\": \"/metadata/resourceVersion\", \"value\": \"7\"},"
		     " {\"op\": \"replace\", \"path\": \"/metadata/managedFields/1/fieldsV1\", \"value\":"
		     "  {\"f:data\": {\"f:a\": {}, \"f:new\": {}, \"f:old\": {}}, \"f:spec\": {\".\": {}},"
		     "   \"f:metadata\": {\"f:labels\": {\"f:gone\": {}}}}},"
		     " {\"op\": \"remove\", \"path\": \"/metadata/managedFields/0\"}]");
}
END_TEST

START_TEST(nothing_to_move)
{
	/* Applied only, another manager's Update, a subresource entry of ours,
	 * no managedFields, or no resourceVersion to test: no patch. */
	expect_patch("{\"resourceVersion\": \"1\", \"managedFields\": [" APPLY("{\"f:data\": {}}") "]}", NULL);
	expect_patch("{\"resourceVersion\": \"1\", \"managedFields\": [{\"manager\": \"kubectl\","
		     " \"operation\": \"Update\", \"fieldsV1\": {}}]}", NULL);
	expect_patch("{\"resourceVersion\": \"1\", \"managedFields\": [{\"manager\": \"outpost\","
		     " \"operation\": \"Update\", \"subresource\": \"status\", \"fieldsV1\": {}}]}", NULL);
	expect_patch("{\"resourceVersion\": \"1\"}", NULL);
	expect_patch("{\"managedFields\": [" UPDATE("{}") "]}", NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ownership");
	TCase *tc = tcase_create("patch");

	tcase_add_test(tc, created_only_becomes_apply);
	tcase_add_test(tc, rename_from_what_a_list_keeps);
	tcase_add_test(tc, created_and_applied_are_merged);
	tcase_add_test(tc, nothing_to_move);
	suite_add_tcase(s, tc);
	return check_run(s);
}
