/* tool.h - being written. */
#ifndef DM_TOOL_H
#define DM_TOOL_H
#include "util.h"
#endif
