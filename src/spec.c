/* spec.c - being written. */
#include "spec.h"
