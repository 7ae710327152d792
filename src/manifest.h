/* manifest.h - being written. */
#ifndef DM_MANIFEST_H
#define DM_MANIFEST_H
#include "util.h"
#endif
