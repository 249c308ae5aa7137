#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

void evloop_rearm(sd_event_source *src, uint64_t usec)
{
	sd_event_source_set_time_relative(src, usec);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

struct file_watch {
	void (*fn)(void *ud);
	void *ud;
	char base[]; /* the file's name in its directory */
};

/* A commit writes the WAL, then the -shm index (which readers write too):
 * the caller should look a little after the last event of a burst. */
static int on_write(sd_event_source *src, const struct inotify_event *ev, void *data)
{
	struct file_watch *w = data;

	(void)src;
	if (ev->len && !strncmp(ev->name, w->base, strlen(w->base)))
		w->fn(w->ud);
	return 0;
}

int evloop_watch_file(sd_event *ev, sd_event_source **out, const char *path,
		      void (*fn)(void *ud), void *ud)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	struct file_watch *w = malloc(sizeof(*w) + strlen(base) + 1);
	int r = -ENOMEM;

	if (dir && w) {
		w->fn = fn;
		w->ud = ud;
		strcpy(w->base, base);
		/* A commit shows up as a write to the file or its WAL. */
		r = sd_event_add_inotify(ev, out, dir, IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO,
					 on_write, w);
		if (r >= 0 && (r = sd_event_source_set_destroy_callback(*out, free)) < 0)
			*out = sd_event_source_unref(*out);
		if (r >= 0)
			w = NULL; /* the source frees it */
	}
	free(w);
	free(dir);
	return r < 0 ? r : 0;
}
