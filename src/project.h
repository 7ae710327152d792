/* project.h - being written. */
#ifndef DM_PROJECT_H
#define DM_PROJECT_H
#include "util.h"
#endif
