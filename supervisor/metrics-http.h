/* The metrics endpoint: a small HTTP/1.0 responder for GET /metrics inside
 * the supervising process's event loop (sd-event). Non-blocking and bounded:
 * at most METRICS_HTTP_CONNS connections at once (more are closed at once), a
 * request head of at most METRICS_HTTP_HEAD bytes, METRICS_HTTP_DEADLINE_MS
 * per connection from accept to the last byte written, then it is closed. One
 * request per connection (Connection: close): a scrape every few seconds
 * does not need keep-alive. */
#ifndef OUTPOST_METRICS_HTTP_H
#define OUTPOST_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "err.h"
#include "metrics.h"

#define METRICS_HTTP_CONNS 8
#define METRICS_HTTP_HEAD 4096
#define METRICS_HTTP_DEADLINE_MS 5000

/* The body of one scrape (malloc'd; *len its length), or NULL (a 500). */
typedef char *(*metrics_http_body_fn)(void *ud, size_t *len);

struct metrics_http;

/* Listens on `l` (not MX_LISTEN_OFF) and serves from `ev`. A Unix socket
 * left by an earlier process is replaced; any other file at the path is
 * refused. Returns 0, or -1 with e set. */
int metrics_http_start(sd_event *ev, const struct metrics_listen *l, metrics_http_body_fn body,
		       void *ud, struct metrics_http **out, struct err *e);
/* Closes every connection and the listener (removing its Unix socket). NULL is fine. */
void metrics_http_free(struct metrics_http *h);

/* The status to answer a request head with: 0 while it is incomplete (no
 * empty line yet), 200 for GET /metrics (a query string is ignored), 404 for
 * another path, 405 for another method, 400 when it is not an HTTP/1.x
 * request line. Pure. */
int metrics_http_route(const char *head, size_t len);

/* What the supervising process serves (metrics-scrape.c): the counters,
 * k3s's figures, and tenants by phase and component readiness read from the
 * state file `st` (NULL: left out) in one snapshot. A body for
 * metrics_http_body_fn. */
struct metrics_k3s {
	bool up;
	uint64_t restarts;
	uint64_t since_start_usec; /* since the current (or last) k3s process started */
};
char *metrics_scrape(struct state *st, const struct metrics_counters *c,
		     const struct metrics_k3s *k, size_t *len);

#endif
