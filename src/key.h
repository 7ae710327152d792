/* key.h - being written. */
#ifndef DM_KEY_H
#define DM_KEY_H
#include "util.h"
#endif
