/* trace.c - see trace.h.  Events are kept as JSON text and written in
 * the order they were added, inside {"traceEvents": [...]}. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fsio.h"
#include "json.h"
#include "trace.h"
#include "util.h"

struct trace {
	pthread_mutex_t lock;
	struct buf events;
	size_t n;
	double origin;
	int have_origin;
};

struct trace *
trace_new(void)
{
	struct trace *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void
trace_free(struct trace *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	buf_free(&t->events);
	free(t);
}

void
trace_span(struct trace *t, const char *name, const char *cat, int tid, double start_ms,
	double end_ms, const char *args)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	if (!t->have_origin) {
		t->origin = start_ms;
		t->have_origin = 1;
	}
	buf_adds(&t->events, t->n++ ? ",\n" : "\n");
	buf_adds(&t->events, "{\"name\": ");
	json_put_str(&t->events, name, strlen(name));
	buf_adds(&t->events, ", \"cat\": ");
	json_put_str(&t->events, cat, strlen(cat));
	buf_printf(&t->events, ", \"ph\": \"X\", \"pid\": 1, \"tid\": %d, \"ts\": %.0f, \"dur\": %.0f",
		tid, (start_ms - t->origin) * 1000.0,
		(end_ms > start_ms ? end_ms - start_ms : 0) * 1000.0);
	if (args)
		buf_printf(&t->events, ", \"args\": {%s}", args);
	buf_addc(&t->events, '}');
	pthread_mutex_unlock(&t->lock);
}

int
trace_write(struct trace *t, const char *path)
{
	struct buf out = {0};
	int r;

	pthread_mutex_lock(&t->lock);
	buf_adds(&out, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [");
	buf_add(&out, t->events.data ? t->events.data : "", t->events.len);
	buf_adds(&out, "\n]}\n");
	pthread_mutex_unlock(&t->lock);
	r = fs_write_atomic(path, out.data, out.len);
	buf_free(&out);
	return r;
}
