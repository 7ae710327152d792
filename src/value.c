/* value.c - being written. */
#include "value.h"
