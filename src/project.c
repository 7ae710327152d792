/* project.c - being written. */
#include "project.h"
