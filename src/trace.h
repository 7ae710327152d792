/* trace.h - a Chrome trace-event file (the JSON Perfetto and
 * chrome://tracing read): complete events ("ph": "X") with a name, a
 * category, a thread and arguments.  Thread-safe. */
#ifndef DM_TRACE_H
#define DM_TRACE_H

struct trace;

struct trace *trace_new(void);
void trace_free(struct trace *t);
/* trace_span: an event from start_ms to end_ms (monotonic milliseconds;
 * the first event's start is time zero) on thread tid.  args is a JSON
 * object's members without braces ("\"a\": 1"), or NULL. */
void trace_span(struct trace *t, const char *name, const char *cat, int tid, double start_ms,
	double end_ms, const char *args);
/* trace_write: write the file (atomically).  0 or DM_EIO. */
int trace_write(struct trace *t, const char *path);

#endif
