/* build.c - being written. */
#include "build.h"
