/* graph.h - being written. */
#ifndef DM_GRAPH_H
#define DM_GRAPH_H
#include "util.h"
#endif
