/* graph.c - adjacency lists in both directions; Kahn's algorithm with a
 * binary heap so that the order is stable (smallest ready index first);
 * cycles found by walking dependencies among the nodes Kahn left over. */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "util.h"

struct adj {
	size_t *v;
	size_t n, cap;
};

struct graph {
	size_t n;
	struct adj *deps, *rdeps;
};

struct graph *
graph_new(size_t n)
{
	struct graph *g = xcalloc(1, sizeof(*g));

	g->n = n;
	g->deps = xcalloc(n ? n : 1, sizeof(*g->deps));
	g->rdeps = xcalloc(n ? n : 1, sizeof(*g->rdeps));
	return g;
}

void
graph_free(struct graph *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n; i++) {
		free(g->deps[i].v);
		free(g->rdeps[i].v);
	}
	free(g->deps);
	free(g->rdeps);
	free(g);
}

static void
adj_push(struct adj *a, size_t v)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->v[i] == v)
			return;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 4;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = v;
}

void
graph_add_edge(struct graph *g, size_t from, size_t to)
{
	adj_push(&g->deps[to], from);
	adj_push(&g->rdeps[from], to);
}

size_t
graph_ndeps(const struct graph *g, size_t node)
{
	return g->deps[node].n;
}

const size_t *
graph_deps(const struct graph *g, size_t node, size_t *n)
{
	*n = g->deps[node].n;
	return g->deps[node].v;
}

const size_t *
graph_rdeps(const struct graph *g, size_t node, size_t *n)
{
	*n = g->rdeps[node].n;
	return g->rdeps[node].v;
}

static void
heap_push(size_t *h, size_t *n, size_t v)
{
	size_t i = (*n)++;

	while (i > 0 && h[(i - 1) / 2] > v) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static size_t
heap_pop(size_t *h, size_t *n)
{
	size_t top = h[0], last = h[--*n], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] < h[c])
			c++;
		if (h[c] >= last)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = last;
	return top;
}

static void
find_cycle(const struct graph *g, const size_t *indeg, size_t *cycle, size_t *ncycle)
{
	unsigned char *seen = xcalloc(g->n, 1);
	size_t *path = xmalloc(g->n * sizeof(*path));
	size_t start = 0, len = 0, i, v;

	while (indeg[start] == 0)
		start++;
	/* Every leftover node has a leftover dependency: walk them until a
	 * node repeats; the walk from its first visit is a cycle. */
	v = start;
	while (!seen[v]) {
		seen[v] = 1;
		path[len++] = v;
		for (i = 0; i < g->deps[v].n; i++)
			if (indeg[g->deps[v].v[i]]) {
				v = g->deps[v].v[i];
				break;
			}
	}
	for (i = 0; path[i] != v; i++)
		;
	*ncycle = 0;
	/* The walk followed dependencies; report in edge order. */
	for (; len > i; len--)
		cycle[(*ncycle)++] = path[len - 1];
	free(seen);
	free(path);
}

int
graph_order(const struct graph *g, size_t *order, size_t *cycle, size_t *ncycle)
{
	size_t *indeg = xcalloc(g->n ? g->n : 1, sizeof(*indeg));
	size_t *heap = xmalloc((g->n ? g->n : 1) * sizeof(*heap));
	size_t nheap = 0, norder = 0, i, j;
	int r = 0;

	for (i = 0; i < g->n; i++) {
		indeg[i] = g->deps[i].n;
		if (!indeg[i])
			heap_push(heap, &nheap, i);
	}
	while (nheap) {
		size_t v = heap_pop(heap, &nheap);

		order[norder++] = v;
		for (j = 0; j < g->rdeps[v].n; j++) {
			size_t w = g->rdeps[v].v[j];

			if (--indeg[w] == 0)
				heap_push(heap, &nheap, w);
		}
	}
	if (norder < g->n) {
		r = -1;
		if (cycle && ncycle)
			find_cycle(g, indeg, cycle, ncycle);
	}
	free(indeg);
	free(heap);
	return r;
}

size_t
graph_waves(const struct graph *g, const size_t *order, size_t *wave)
{
	size_t i, j, nwaves = 0;

	for (i = 0; i < g->n; i++) {
		size_t v = order[i], w = 0;

		for (j = 0; j < g->deps[v].n; j++)
			if (wave[g->deps[v].v[j]] + 1 > w)
				w = wave[g->deps[v].v[j]] + 1;
		wave[v] = w;
		if (w + 1 > nwaves)
			nwaves = w + 1;
	}
	return nwaves;
}
