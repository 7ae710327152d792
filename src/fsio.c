/* fsio.c - being written. */
#include "fsio.h"
