/* manifest.h - generation_manifest.json (SPEC §3, §10): per output file,
 * the atom that wrote it, its stratum, template, pattern, model, checks,
 * and the digests of its inputs (action key) and output.  Keys are sorted
 * and the text is stable, so an unchanged build rewrites nothing. */
#ifndef DM_MANIFEST_H
#define DM_MANIFEST_H

struct project;
struct record;

/* manifest_write: recs[i] is the final record of atom i (NULL: none).
 * Writes path only when its content changes.  0 or DM_EIO. */
int manifest_write(const struct project *p, struct record *const *recs, const char *path);

/* The same in two steps, so that most of the text is written while atoms
 * build.  manifest_begin: recs[i] is atom i's record now; later[i]
 * (later may be NULL) marks an atom whose final record is known only
 * after the build: its entry is left for manifest_finish.  With thread
 * set, the other entries are written on a thread of their own, which
 * reads p and those records only: they must not change until
 * manifest_finish.  manifest_finish: recs[i] is now the final record of
 * every later atom i (NULL: none, no entry); joins the thread, compares
 * the text with the file block by block and writes it when it differs,
 * frees m.  0 or DM_EIO.  The text is byte for byte manifest_write's
 * (the one-step form, which t-manifest holds the two steps to). */
struct manifest;
struct manifest *manifest_begin(const struct project *p, struct record *const *recs,
	const unsigned char *later, const char *path, int thread);
int manifest_finish(struct manifest *m, struct record *const *recs);

#endif
