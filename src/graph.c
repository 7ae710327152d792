/* graph.c - being written. */
#include "graph.h"
