/* tool.c - being written. */
#include "tool.h"
