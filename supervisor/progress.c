#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define BAR_INTERVAL 0.2
#define LINE_INTERVAL 5.0

static double now(void)
{
	return (double)clock_mono_us() / (double)USEC_PER_SEC;
}

static void human(char *buf, size_t cap, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void progress_format(char *buf, size_t cap, uint64_t done, uint64_t total, double elapsed,
		     int bar_width)
{
	char d[32], t[32], r[32], eta[32] = "--:--", bar[82] = "";
	double rate = elapsed > 0 ? (double)done / elapsed : 0;

	human(d, sizeof(d), (double)done);
	human(t, sizeof(t), (double)total);
	human(r, sizeof(r), rate);
	if (rate > 0 && total >= done) {
		long s = (long)((double)(total - done) / rate + 0.5);
		snprintf(eta, sizeof(eta), "%ld:%02ld", s / 60, s % 60);
	}
	if (bar_width > 0) {
		int w = bar_width > 80 ? 80 : bar_width;
		int fill = total ? (int)((double)done * w / (double)total) : w;
		if (fill > w)
			fill = w;
		bar[0] = '[';
		memset(bar + 1, '#', (size_t)fill);
		memset(bar + 1 + fill, '.', (size_t)(w - fill));
		bar[w + 1] = ']';
		bar[w + 2] = '\0';
	}
	snprintf(buf, cap, "%s%s%3d%%  %s / %s  %s/s  ETA %s", bar, bar_width > 0 ? " " : "",
		 total ? (int)((double)done * 100 / (double)total) : 100, d, t, r, eta);
}

void progress_begin(struct progress *p, const char *what, uint64_t total, int quiet)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total = total;
	p->start = p->last = now();
	p->mode = quiet ? PROGRESS_QUIET : isatty(STDERR_FILENO) ? PROGRESS_BAR : PROGRESS_LINES;
}

void progress_update(struct progress *p, uint64_t done)
{
	char line[256];
	double t;

	if (p->mode == PROGRESS_QUIET)
		return;
	t = now();
	if (t - p->last < (p->mode == PROGRESS_BAR ? BAR_INTERVAL : LINE_INTERVAL))
		return;
	p->last = t;
	progress_format(line, sizeof(line), done, p->total, t - p->start,
			p->mode == PROGRESS_BAR ? 30 : 0);
	if (p->mode == PROGRESS_BAR)
		fprintf(stderr, "\r%s %s\033[K", p->what, line);
	else
		fprintf(stderr, "%s: %s\n", p->what, line);
	p->drawn = 1;
}

void progress_end(struct progress *p, uint64_t done, int ok)
{
	char line[256];

	if (p->mode == PROGRESS_QUIET)
		return;
	if (p->mode == PROGRESS_BAR && p->drawn && !ok) {
		fputc('\n', stderr);
		return;
	}
	if (!ok)
		return;
	progress_format(line, sizeof(line), done, p->total, now() - p->start,
			p->mode == PROGRESS_BAR ? 30 : 0);
	fprintf(stderr, p->mode == PROGRESS_BAR ? "\r%s %s\033[K\n" : "%s: %s\n", p->what, line);
}
