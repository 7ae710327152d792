/* key.c - being written. */
#include "key.h"
