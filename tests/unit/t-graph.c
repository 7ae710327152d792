/* t-graph: topological order, cycles, waves. */
#include <stdlib.h>

#include "graph.h"
#include "tap.h"

static void
test_order(void)
{
	struct graph *g = graph_new(5);
	size_t order[5], wave[5], nw;

	/* 3 -> 1 -> 0, 4 -> 0, 2 alone */
	graph_add_edge(g, 3, 1);
	graph_add_edge(g, 1, 0);
	graph_add_edge(g, 4, 0);
	graph_add_edge(g, 4, 0); /* duplicates are ignored */
	ok(graph_order(g, order, NULL, NULL) == 0, "acyclic graph orders");
	is_int((long long)order[0], 2, "smallest ready node first");
	is_int((long long)order[1], 3, "then 3");
	is_int((long long)order[2], 1, "then 1, freed by 3");
	is_int((long long)order[3], 4, "then 4");
	is_int((long long)order[4], 0, "0 last: it waits for 1 and 4");
	is_int((long long)graph_ndeps(g, 0), 2, "duplicate edge counted once");
	nw = graph_waves(g, order, wave);
	is_int((long long)nw, 3, "three waves");
	ok(wave[2] == 0 && wave[3] == 0 && wave[4] == 0, "roots in wave 0");
	is_int((long long)wave[1], 1, "1 in wave 1");
	is_int((long long)wave[0], 2, "0 in wave 2 (longest path)");
	graph_free(g);
}

static void
test_cycle(void)
{
	struct graph *g = graph_new(6);
	size_t order[6], cycle[6], n = 0, i, at = 0;

	/* 0 -> 1 -> 2 -> 3 -> 1, and 4 -> 5 */
	graph_add_edge(g, 0, 1);
	graph_add_edge(g, 1, 2);
	graph_add_edge(g, 2, 3);
	graph_add_edge(g, 3, 1);
	graph_add_edge(g, 4, 5);
	ok(graph_order(g, order, cycle, &n) == -1, "a cycle is reported");
	is_int((long long)n, 3, "the cycle has exactly its 3 nodes");
	for (i = 0; i < n; i++)
		if (cycle[i] == 1)
			at = i;
	ok(cycle[(at + 1) % n] == 2 && cycle[(at + 2) % n] == 3, "in edge order 1 -> 2 -> 3");
	graph_free(g);

	g = graph_new(1);
	graph_add_edge(g, 0, 0);
	n = 0;
	ok(graph_order(g, order, cycle, &n) == -1 && n == 1 && cycle[0] == 0, "a self loop");
	graph_free(g);
}

static void
test_large(void)
{
	size_t n = 100000, i, *order = malloc(n * sizeof(*order)), *pos = malloc(n * sizeof(*pos));
	struct graph *g = graph_new(n);
	int good = 1;

	/* a long chain in reverse index order plus fan-in: no recursion limits */
	for (i = 1; i < n; i++)
		graph_add_edge(g, i, i - 1);
	ok(graph_order(g, order, NULL, NULL) == 0, "a 100,000-node chain orders");
	for (i = 0; i < n; i++)
		pos[order[i]] = i;
	for (i = 1; i < n; i++)
		if (pos[i] > pos[i - 1])
			good = 0;
	ok(good, "every dependency comes before its dependent");
	graph_free(g);
	free(order);
	free(pos);
}

int
main(void)
{
	test_order();
	test_cycle();
	test_large();
	return done_testing();
}
