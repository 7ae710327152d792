/* progress.c - being written. */
#include "progress.h"
