#include "metrics-http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "util.h"

struct conn {
	struct metrics_http *h;
	struct conn *next;
	int fd;
	sd_event_source *io, *deadline;
	char head[METRICS_HTTP_HEAD];
	size_t len;
	char *out;       /* the response, once the head is complete */
	size_t out_len, sent;
};

struct metrics_http {
	sd_event_source *listener;
	int fd;
	char *unix_path; /* removed on free */
	metrics_http_body_fn body;
	void *ud;
	struct conn *conns;
	size_t nconns;
};

int metrics_http_route(const char *head, size_t len)
{
	const char *end = NULL, *sp1, *sp2, *eol;

	for (size_t i = 0; i + 1 < len && !end; i++)
		if (head[i] == '\n' && (head[i + 1] == '\n' ||
					(head[i + 1] == '\r' && i + 2 < len && head[i + 2] == '\n')))
			end = head + i;
	if (!end)
		return 0;
	/* The request line: METHOD SP TARGET SP HTTP/1.x */
	eol = memchr(head, '\n', len);
	if (eol > head && eol[-1] == '\r')
		eol--;
	if (!(sp1 = memchr(head, ' ', (size_t)(eol - head))) ||
	    !(sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) ||
	    eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) || sp2[8] < '0' || sp2[8] > '9')
		return 400;
	if (sp1 - head != 3 || memcmp(head, "GET", 3))
		return 405;
	if (sp2 - sp1 - 1 < 8 || memcmp(sp1 + 1, "/metrics", 8) ||
	    (sp2 - sp1 - 1 > 8 && sp1[9] != '?'))
		return 404;
	return 200;
}

static void conn_close(struct conn *c)
{
	struct metrics_http *h = c->h;

	for (struct conn **p = &h->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	h->nconns--;
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->deadline);
	close(c->fd);
	free(c->out);
	free(c);
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

/* The whole response in one buffer: status line, headers, body. */
static int respond(struct conn *c, int status)
{
	static const char ctype[] = "text/plain; version=0.0.4; charset=utf-8";
	char *body = NULL, *out = NULL;
	size_t blen = 0, n = 0;
	FILE *f;

	if (status == 200 && !(body = c->h->body(c->h->ud, &blen)))
		status = 500;
	if (!body)
		blen = strlen(reason_phrase(status)) + 1; /* the phrase and a newline */
	if (!(f = open_memstream(&out, &n))) {
		free(body);
		return -ENOMEM;
	}
	fprintf(f, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		   "Connection: close\r\n\r\n", status, reason_phrase(status),
		body ? ctype : "text/plain; charset=utf-8", blen, status == 405 ? "Allow: GET\r\n" : "");
	if (body)
		fwrite(body, 1, blen, f);
	else
		fprintf(f, "%s\n", reason_phrase(status));
	free(body);
	if (ferror(f) | fclose(f)) {
		free(out);
		return -ENOMEM;
	}
	c->out = out;
	c->out_len = n;
	return 0;
}

/* Returns true when the connection is done (closed or to be closed). */
static bool conn_write(struct conn *c)
{
	while (c->sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->sent, c->out_len - c->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n <= 0)
			return true;
		c->sent += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	return true;
}

static bool conn_read(struct conn *c)
{
	int status = 0;

	for (;;) {
		ssize_t n = read(c->fd, c->head + c->len, sizeof(c->head) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n <= 0)
			return true; /* gone before asking */
		c->len += (size_t)n;
		if ((status = metrics_http_route(c->head, c->len)) != 0)
			break;
		if (c->len == sizeof(c->head)) {
			status = 431;
			break;
		}
	}
	if (respond(c, status) < 0)
		return true;
	sd_event_source_set_io_events(c->io, EPOLLOUT);
	return conn_write(c);
}

static int on_conn(sd_event_source *src, int fd, uint32_t revents, void *data)
{
	struct conn *c = data;
	bool done;

	(void)src;
	(void)fd;
	if (revents & (EPOLLERR | EPOLLHUP) && !(revents & (EPOLLIN | EPOLLOUT)))
		done = true;
	else
		done = c->out ? conn_write(c) : conn_read(c);
	if (done)
		conn_close(c);
	return 0;
}

static int on_deadline(sd_event_source *src, uint64_t usec, void *data)
{
	(void)src;
	(void)usec;
	conn_close(data);
	return 0;
}

static void conn_add(struct metrics_http *h, int fd)
{
	sd_event *ev = sd_event_source_get_event(h->listener);
	struct conn *c;

	/* Bounded: a client that opens many connections gets them closed. */
	if (h->nconns >= METRICS_HTTP_CONNS || !(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	c->h = h;
	c->fd = fd;
	if (sd_event_add_io(ev, &c->io, fd, EPOLLIN, on_conn, c) < 0 ||
	    sd_event_add_time_relative(ev, &c->deadline, CLOCK_MONOTONIC,
				       METRICS_HTTP_DEADLINE_MS * UINT64_C(1000), 0, on_deadline, c) < 0) {
		sd_event_source_unref(c->io);
		close(fd);
		free(c);
		return;
	}
	c->next = h->conns;
	h->conns = c;
	h->nconns++;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *data)
{
	struct metrics_http *h = data;
	int cfd;

	(void)src;
	(void)revents;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		conn_add(h, cfd);
	return 0;
}

static int bind_unix(int fd, const char *path, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *slash;
	struct stat st;
	mode_t old;
	int r;

	/* /run/outpost is not there after a boot. */
	if ((slash = strrchr(path, '/')) > path) {
		char *dir = strndup(path, (size_t)(slash - path));
		r = dir ? util_mkdir_p(dir, 0755, e) : err_errno(e, ENOMEM, "metrics");
		free(dir);
		if (r < 0)
			return err_prefix(e, "metrics");
	}
	/* The socket of an earlier supervisor that did not clean up. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(e, EXIT_RUNTIME, "metrics: %s exists and is not a socket", path);
		if (unlink(path) < 0)
			return err_errno(e, errno, "metrics: remove the old socket %s", path);
	}
	strcpy(sa.sun_path, path);
	/* Connecting needs write permission on the socket: ours alone. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	return r < 0 ? err_errno(e, errno, "metrics: bind %s", path) : 0;
}

static int bind_inet(int fd, const struct metrics_listen *l, struct err *e)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(l->port) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(l->port) };
	const int one = 1;
	int r;

	/* A restarted supervisor binds again while old connections linger. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->kind == MX_LISTEN_INET) {
		memcpy(&sin.sin_addr, l->addr, 4);
		r = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	} else {
		memcpy(&sin6.sin6_addr, l->addr, 16);
		r = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	}
	return r < 0 ? err_errno(e, errno, "metrics: bind port %u", (unsigned)l->port) : 0;
}

int metrics_http_start(sd_event *ev, const struct metrics_listen *l, metrics_http_body_fn body,
		       void *ud, struct metrics_http **out, struct err *e)
{
	int domain = l->kind == MX_LISTEN_UNIX ? AF_UNIX : l->kind == MX_LISTEN_INET ? AF_INET : AF_INET6;
	struct metrics_http *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return err_errno(e, ENOMEM, "metrics");
	h->body = body;
	h->ud = ud;
	if ((h->fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		err_errno(e, errno, "metrics: socket");
		goto fail;
	}
	if ((l->kind == MX_LISTEN_UNIX ? bind_unix(h->fd, l->path, e) : bind_inet(h->fd, l, e)) < 0)
		goto fail;
	if (l->kind == MX_LISTEN_UNIX && !(h->unix_path = strdup(l->path))) {
		unlink(l->path);
		err_errno(e, ENOMEM, "metrics");
		goto fail;
	}
	if (listen(h->fd, METRICS_HTTP_CONNS) < 0) {
		err_errno(e, errno, "metrics: listen");
		goto fail;
	}
	if ((r = sd_event_add_io(ev, &h->listener, h->fd, EPOLLIN, on_accept, h)) < 0) {
		err_errno(e, -r, "metrics: sd_event_add_io");
		goto fail;
	}
	*out = h;
	return 0;
fail:
	metrics_http_free(h);
	return -1;
}

void metrics_http_free(struct metrics_http *h)
{
	if (!h)
		return;
	while (h->conns)
		conn_close(h->conns);
	sd_event_source_disable_unref(h->listener);
	if (h->fd >= 0)
		close(h->fd);
	if (h->unix_path)
		unlink(h->unix_path);
	free(h->unix_path);
	free(h);
}
