/* graph.h - the atom graph: topological order, cycles, waves.
 *
 * Nodes are 0..n-1; edges go from a dependency to its dependents.  The
 * graph only answers questions; scheduling lives in build.c.
 */
#ifndef DM_GRAPH_H
#define DM_GRAPH_H

#include <stddef.h>

struct graph;

struct graph *graph_new(size_t n);
void graph_free(struct graph *g);
/* graph_add_edge: "to" depends on "from". */
void graph_add_edge(struct graph *g, size_t from, size_t to);
/* graph_order: a topological order in order[0..n) (stable: among ready
 * nodes the smallest index first).  0, or -1 if there is a cycle; then
 * cycle[0..*ncycle) holds the nodes of one cycle in edge order. */
int graph_order(const struct graph *g, size_t *order, size_t *cycle, size_t *ncycle);
/* graph_waves: wave[i] = 0 for nodes without dependencies, else 1 + the
 * largest wave of a dependency.  Returns the number of waves.  Acyclic
 * graphs only. */
size_t graph_waves(const struct graph *g, const size_t *order, size_t *wave);
size_t graph_ndeps(const struct graph *g, size_t node);
/* graph_deps / graph_rdeps: the dependencies / dependents of node. */
const size_t *graph_deps(const struct graph *g, size_t node, size_t *n);
const size_t *graph_rdeps(const struct graph *g, size_t node, size_t *n);

#endif
