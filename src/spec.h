/* spec.h - the application spec: YAML files read with libyaml (spec.c is
 * the only module that includes yaml.h) or, for the plain YAML that
 * specs are mostly written in, a faster reader that gives the same
 * results; merged in order, frozen (see value.h).
 *
 * Scalars follow the YAML 1.2 core schema: null (~, null, empty), bool
 * (true/false in any of the core spellings), int (decimal, 0o octal, 0x
 * hex), float (.inf, .nan, decimals, exponents); quoted scalars and
 * anything else are strings.  Anchors and aliases are expanded by copy
 * (with a limit against alias bombs).  Duplicate keys are an error.  A spec
 * file over 64 MiB or nested deeper than 1,000 levels is refused.
 */
#ifndef DM_SPEC_H
#define DM_SPEC_H

#include <stddef.h>

#include "util.h"
#include "value.h"

/* spec_parse: one YAML document (the first, if the stream has several)
 * from text; name is the file name for messages and positions.  The
 * result is not frozen; it lives in an arena that its root owns (see
 * value.h), so val_free(root) is one cheap call.  DM_EINPUT with messages
 * in d on bad input. */
int spec_parse(const char *name, const char *text, size_t len, struct val **out, struct diag *d);
/* The reader spec_parse_reader uses, for tests and fuzzing.  spec_parse
 * and spec_load use SPEC_READER_AUTO: the fast reader when the text is in
 * the subset of YAML it reads (see spec.c), libyaml otherwise; both give
 * the same tree, positions and messages. */
enum spec_reader {
	SPEC_READER_AUTO,
	SPEC_READER_LIBYAML, /* libyaml only */
	SPEC_READER_FAST     /* the fast reader only: text outside its subset
				fails with DM_EINPUT and the one diagnostic
				"fast reader refuses: WHY" where it gave up */
};
/* spec_parse_reader: spec_parse with reader r (the result and its arena
 * as spec_parse's). */
int spec_parse_reader(const char *name, const char *text, size_t len, enum spec_reader r,
	struct val **out, struct diag *d);
/* spec_events: the events that reader r reads from the first document of
 * text, appended to out one a line, for comparing readers: "S LINE:COL
 * plain|quoted LEN:TEXT" for a scalar (TEXT raw, LEN bytes), "[ LINE:COL"
 * and "{ LINE:COL" for a list and a map starting, "]" for either ending,
 * "A LINE:COL LEN:NAME" for an alias, and " !<TAG>", " &ANCHOR" after the
 * position when present.  0, or DM_EINPUT on a syntax error (libyaml) or
 * when the fast reader refuses (SPEC_READER_FAST); out may then hold the
 * events before that. */
int spec_events(const char *text, size_t len, enum spec_reader r, struct buf *out);
/* spec_load: read and parse each file, merge them in order (val_merge)
 * and freeze the result under root path "".  An empty list gives an empty
 * map. */
int spec_load(const char *const *paths, size_t n, struct val **out, struct diag *d);
/* spec_load_digests: spec_load, and digests[i] (n of them) the digest of
 * the bytes of paths[i] it parsed (zero when unreadable), so a caller
 * records exactly what was read without reading it again. */
int spec_load_digests(const char *const *paths, size_t n, struct digest *digests, struct val **out,
	struct diag *d);
/* spec_names_free: free the interned file names that the srcpos.file of
 * spec nodes point at.  Registered with atexit() by the first parse; call
 * it earlier only when no tree from spec_parse/spec_load is still in use. */
void spec_names_free(void);

#endif
