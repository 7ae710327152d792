/* build.h - being written. */
#ifndef DM_BUILD_H
#define DM_BUILD_H
#include "util.h"
#endif
