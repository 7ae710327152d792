/* cache.c - being written. */
#include "cache.h"
