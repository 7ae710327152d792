/* inflect.c - being written. */
#include "inflect.h"
