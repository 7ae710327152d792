/* dmfile.c - being written. */
#include "dmfile.h"
