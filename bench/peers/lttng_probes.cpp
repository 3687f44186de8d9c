// Instantiates the vrrl_bench tracepoint provider (lttng_tracepoint.h) in this
// binary: the probe code and the tracepoint definitions, exactly once.
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "peers/lttng_tracepoint.h"
