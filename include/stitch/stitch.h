/* stitch/stitch.h — the whole libstitch API in one include. */
#ifndef STITCH_STITCH_H
#define STITCH_STITCH_H

#include "common.h"
#include "context.h"
#include "trace.h"
#include "sampler.h"
#include "propagation.h"
#include "export.h"

#endif
