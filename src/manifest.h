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

#endif
