/* progress.h - being written. */
#ifndef DM_PROGRESS_H
#define DM_PROGRESS_H
#include "util.h"
#endif
