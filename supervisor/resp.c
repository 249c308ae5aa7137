/* See resp.h. Every read and write has a timeout (SO_RCVTIMEO/SO_SNDTIMEO),
 * so a server that stops answering fails the backup instead of hanging it. */
#include "resp.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define RESP_TIMEOUT_S 60
#define RESP_MAX_BULK ((size_t)512 << 20) /* Redis's own limit for a string */
#define RESP_MAX_DEPTH 8

struct resp {
	int fd;
	int file; /* a stream in a file: read and write, not recv and send */
	char *out;
	size_t olen, ocap;
	char in[65536];
	size_t ipos, iend;
};

static int dial(const char *addr, struct err *e)
{
	struct timeval tv = { .tv_sec = RESP_TIMEOUT_S };
	int fd = -1;

	if (addr[0] == '/') {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(addr) >= sizeof(sa.sun_path))
			return err_set(e, EXIT_USAGE, "%s: socket path too long", addr);
		memcpy(sa.sun_path, addr, strlen(addr) + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int saved = errno;

			if (fd >= 0)
				close(fd);
			return err_errno(e, saved, "%s", addr);
		}
	} else {
		char host[256];
		const char *colon = strrchr(addr, ':');
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
		int g, saved = ECONNREFUSED;

		if (!colon || colon == addr || !colon[1] || (size_t)(colon - addr) >= sizeof(host))
			return err_set(e, EXIT_USAGE, "'%s': not HOST:PORT or a socket path", addr);
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
		if ((g = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
			return err_set(e, EXIT_RUNTIME, "%s: %s", addr, gai_strerror(g));
		for (ai = res; ai; ai = ai->ai_next) {
			if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
				continue;
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
				break;
			saved = errno;
			close(fd);
			fd = -1;
		}
		freeaddrinfo(res);
		if (fd < 0)
			return err_errno(e, saved, "%s", addr);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

int resp_connect(const char *addr, const char *password, struct resp **out, struct err *e)
{
	struct resp *r = calloc(1, sizeof(*r));
	struct resp_reply *rep = NULL;
	int fd;

	*out = NULL;
	if (!r)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	if ((fd = dial(addr, e)) < 0) {
		free(r);
		return -1;
	}
	r->fd = fd;
	/* AUTH's reply says only whether it worked: never echo the password. */
	if (password && resp_cmd(r, &rep, e, "AUTH", password, NULL) < 0) {
		resp_close(r);
		return -1;
	}
	resp_reply_free(rep);
	*out = r;
	return 0;
}

int resp_open_file(int fd, struct resp **out, struct err *e)
{
	if (!(*out = calloc(1, sizeof(**out)))) {
		close(fd);
		return err_set(e, EXIT_RUNTIME, "out of memory");
	}
	(*out)->fd = fd;
	(*out)->file = 1;
	return 0;
}

int resp_at_end(struct resp *r, struct err *e)
{
	if (r->ipos < r->iend)
		return 0;
	r->ipos = r->iend = 0;
	for (;;) {
		ssize_t n = read(r->fd, r->in, sizeof(r->in));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, errno, "redis stream");
		r->iend = (size_t)n;
		return n == 0;
	}
}

void resp_close(struct resp *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r->out);
	free(r);
}

static int append(struct resp *r, const void *p, size_t n, struct err *e)
{
	if (r->olen + n > r->ocap) {
		size_t cap = r->ocap ? r->ocap : 65536;
		char *grown;

		while (cap < r->olen + n)
			cap *= 2;
		if (!(grown = realloc(r->out, cap)))
			return err_set(e, EXIT_RUNTIME, "out of memory");
		r->out = grown;
		r->ocap = cap;
	}
	memcpy(r->out + r->olen, p, n);
	r->olen += n;
	return 0;
}

int resp_send(struct resp *r, size_t argc, const char *const argv[], const size_t lens[], struct err *e)
{
	char head[32];

	snprintf(head, sizeof(head), "*%zu\r\n", argc);
	if (append(r, head, strlen(head), e) < 0)
		return -1;
	for (size_t i = 0; i < argc; i++) {
		snprintf(head, sizeof(head), "$%zu\r\n", lens[i]);
		if (append(r, head, strlen(head), e) < 0 || append(r, argv[i], lens[i], e) < 0 ||
		    append(r, "\r\n", 2, e) < 0)
			return -1;
	}
	/* Big pipelines go out as they grow rather than all at once. */
	return r->olen > ((size_t)1 << 20) ? resp_flush(r, e) : 0;
}

static int sendva(struct resp *r, struct err *e, const char *first, va_list ap)
{
	const char *argv[16];
	size_t lens[16], n = 0;

	for (const char *w = first; w; w = va_arg(ap, const char *)) {
		if (n == 16)
			return err_set(e, EXIT_RUNTIME, "%s: too many words", first);
		argv[n] = w;
		lens[n++] = strlen(w);
	}
	return resp_send(r, n, argv, lens, e);
}

int resp_sendv(struct resp *r, struct err *e, const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = sendva(r, e, first, ap);
	va_end(ap);
	return rc;
}

int resp_flush(struct resp *r, struct err *e)
{
	size_t off = 0;

	while (off < r->olen) {
		ssize_t n = r->file ? write(r->fd, r->out + off, r->olen - off)
				    : send(r->fd, r->out + off, r->olen - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, errno == EAGAIN ? ETIMEDOUT : errno, "redis: send");
		off += (size_t)n;
	}
	r->olen = 0;
	return 0;
}

static int fill(struct resp *r, struct err *e)
{
	ssize_t n;

	if (r->ipos == r->iend)
		r->ipos = r->iend = 0;
	if (r->iend == sizeof(r->in)) {
		memmove(r->in, r->in + r->ipos, r->iend - r->ipos);
		r->iend -= r->ipos;
		r->ipos = 0;
	}
	do
		n = read(r->fd, r->in + r->iend, sizeof(r->in) - r->iend);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_errno(e, errno == EAGAIN ? ETIMEDOUT : errno, "redis: receive");
	if (n == 0)
		return err_set(e, EXIT_RUNTIME, "redis: %s", r->file ? "the stream ends in a command"
								 : "the server closed the connection");
	r->iend += (size_t)n;
	return 0;
}

/* One "\r\n"-terminated line into buf (without the terminator). */
static int read_line(struct resp *r, char *buf, size_t cap, struct err *e)
{
	size_t len = 0;

	for (;;) {
		while (r->ipos < r->iend) {
			char c = r->in[r->ipos++];

			if (c == '\n' && len > 0 && buf[len - 1] == '\r') {
				buf[len - 1] = '\0';
				return 0;
			}
			if (len + 1 >= cap)
				return err_set(e, EXIT_RUNTIME, "redis: a reply line is too long");
			buf[len++] = c;
		}
		if (fill(r, e) < 0)
			return -1;
	}
}

static int read_exact(struct resp *r, char *dst, size_t n, struct err *e)
{
	while (n > 0) {
		size_t take;

		if (r->ipos == r->iend && fill(r, e) < 0)
			return -1;
		take = r->iend - r->ipos < n ? r->iend - r->ipos : n;
		memcpy(dst, r->in + r->ipos, take);
		r->ipos += take;
		dst += take;
		n -= take;
	}
	return 0;
}

static int parse_count(const char *s, long long *v, struct err *e)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return err_set(e, EXIT_RUNTIME, "redis: bad number '%.32s' in a reply", s);
	return 0;
}

static int parse(struct resp *r, struct resp_reply *rep, int depth, struct err *e)
{
	char line[4096];
	long long v;

	if (depth > RESP_MAX_DEPTH)
		return err_set(e, EXIT_RUNTIME, "redis: replies nested too deep");
	if (read_line(r, line, sizeof(line), e) < 0)
		return -1;
	rep->type = line[0];
	switch (line[0]) {
	case '+':
	case '-':
		rep->len = strlen(line + 1);
		return (rep->str = strdup(line + 1)) ? 0 : err_set(e, EXIT_RUNTIME, "out of memory");
	case ':':
		return parse_count(line + 1, &rep->integer, e);
	case '$':
		if (parse_count(line + 1, &v, e) < 0)
			return -1;
		if (v < 0) {
			rep->nil = 1;
			return 0;
		}
		if ((size_t)v > RESP_MAX_BULK)
			return err_set(e, EXIT_RUNTIME, "redis: a %lld-byte string is too big", v);
		rep->len = (size_t)v;
		if (!(rep->str = malloc(rep->len + 2)))
			return err_set(e, EXIT_RUNTIME, "out of memory");
		if (read_exact(r, rep->str, rep->len + 2, e) < 0)
			return -1;
		rep->str[rep->len] = '\0';
		return 0;
	case '*':
		if (parse_count(line + 1, &v, e) < 0)
			return -1;
		if (v < 0) {
			rep->nil = 1;
			return 0;
		}
		if (v > 100000000)
			return err_set(e, EXIT_RUNTIME, "redis: an array of %lld elements is too big", v);
		if (v && !(rep->elem = calloc((size_t)v, sizeof(*rep->elem))))
			return err_set(e, EXIT_RUNTIME, "out of memory");
		for (long long i = 0; i < v; i++) {
			rep->n++;
			if (parse(r, &rep->elem[i], depth + 1, e) < 0)
				return -1;
		}
		return 0;
	default:
		return err_set(e, EXIT_RUNTIME, "redis: not a RESP reply (type '%c')", line[0]);
	}
}

static void reply_clear(struct resp_reply *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		reply_clear(&rep->elem[i]);
	free(rep->elem);
	free(rep->str);
}

void resp_reply_free(struct resp_reply *rep)
{
	if (!rep)
		return;
	reply_clear(rep);
	free(rep);
}

int resp_read(struct resp *r, struct resp_reply **out, struct err *e)
{
	struct resp_reply *rep = calloc(1, sizeof(*rep));

	*out = NULL;
	if (!rep)
		return err_set(e, EXIT_RUNTIME, "out of memory");
	if ((r->olen && resp_flush(r, e) < 0) || parse(r, rep, 0, e) < 0) {
		resp_reply_free(rep);
		return -1;
	}
	*out = rep;
	return 0;
}

int resp_cmd(struct resp *r, struct resp_reply **out, struct err *e, const char *first, ...)
{
	va_list ap;
	int rc;

	*out = NULL;
	va_start(ap, first);
	rc = sendva(r, e, first, ap);
	va_end(ap);
	if (rc < 0 || resp_read(r, out, e) < 0)
		return -1;
	if ((*out)->type == '-') {
		err_set(e, EXIT_RUNTIME, "redis: %s: %s", first, (*out)->str);
		resp_reply_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}
