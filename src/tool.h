/* tool.h - subcommands that are not a build: render, explain, graph,
 * clean.  Each returns an exit status (0, 1 or 2, SPEC §11). */
#ifndef DM_TOOL_H
#define DM_TOOL_H

struct project;
struct cache;

/* tool_render: render one template file with YAML or JSON data (by the
 * data file's extension; no data: an empty map), partials looked up beside
 * the template as NAME.mustache, then NAME.  Output on stdout. */
int tool_render(const char *tmpl, const char *data);
/* tool_explain: what produced PATH and why it was last built. */
int tool_explain(struct project *p, struct cache *c, const char *path);
/* tool_graph: the atom graph in Graphviz dot on stdout. */
int tool_graph(struct project *p);
/* tool_clean: remove every output dmbuild wrote and the user did not
 * edit (all of them with force), and the manifest. */
int tool_clean(struct cache *c, int force);

#endif
