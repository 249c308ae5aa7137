/* Drift inside an object: does what the cluster holds still carry every field
 * the rendering sets, with the same value? The reconciler's hash annotation
 * only says the rendering has not changed; an operator's `kubectl edit` or
 * `kubectl patch` keeps the annotation and changes the fields. Pure: no I/O.
 *
 * The comparison is a subset one: every key of the desired object must be in
 * the observed one with a matching value (recursively; arrays element by
 * element, same length); keys only the observed object has (server defaults,
 * other managers' labels and fields, metadata the server owns) are fine.
 * Resource quantities are compared by value, because the API server stores
 * them in canonical form ("1000m" comes back as "1", "1024Mi" as "1Gi"). */
#ifndef OUTPOST_DRIFT_H
#define OUTPOST_DRIFT_H

#include <jansson.h>
#include <stdbool.h>

/* Whether `observed` carries every field of `desired` (above). The top-level
 * apiVersion and kind are not compared: a list's items may omit them. */
bool drift_subset(const json_t *desired, const json_t *observed);

#endif
