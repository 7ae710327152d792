/* manifest.c - being written. */
#include "manifest.h"
