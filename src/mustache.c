/* mustache.c - being written. */
#include "mustache.h"
