/* Field ownership of what Outpost creates and applies (server-side apply).
 *
 * Outpost creates with POST, so that a same-named object it does not own is
 * never taken over (409), and keeps objects in shape with server-side apply.
 * The API server records the two as separate managedFields entries of manager
 * "outpost": operation Update (the POST) and operation Apply. An apply
 * releases a field it no longer sends only when no other entry owns it, and
 * the Update entry still does: without help, a field a later rendering drops
 * would stay on the object for ever.
 *
 * The help is the documented migration of a client-side manager to
 * server-side apply (client-go's csaupgrade): before applying over an object
 * that still has our Update entry, one JSON patch moves that entry's fields
 * into our Apply entry (or, with no Apply entry yet, makes it the Apply
 * entry), with a `test` of the resourceVersion the list returned, so the
 * patch fails (422) rather than overwrite managedFields another writer just
 * changed. Pure: JSON in, JSON patch text out. */
#ifndef OUTPOST_OWNERSHIP_H
#define OUTPOST_OWNERSHIP_H

#include <jansson.h>

#include <stddef.h>

/* Where `manager`'s entries of the main resource are in managedFields:
 * indexes, or -1. A scan, cheap enough for every listed object. */
struct ownership {
	long update, apply;
};
struct ownership ownership_find(const json_t *metadata, const char *manager);

/* The JSON patch (compact text, caller frees) that moves `manager`'s Update
 * entry into its Apply entry, given the object's `metadata`. Returns 1 with
 * *patch set, 0 when there is nothing to move (no such Update entry, or no
 * resourceVersion to test), -1 when out of memory. */
int ownership_patch(const json_t *metadata, const char *manager, char **patch);

/* The same patch when there is no Apply entry yet (the common case: created,
 * never applied), from what a list kept: the resourceVersion and the Update
 * entry's index. Returns the text (caller frees), or NULL when out of memory. */
char *ownership_rename_patch(const char *resource_version, size_t update);

#endif
