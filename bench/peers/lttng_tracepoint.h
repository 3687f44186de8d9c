// The LTTng-UST tracepoint provider the lttng_ust peer records through: one
// event, vrrl_bench:record, carrying the fields of a RecordedSlot as a user
// instrumenting a scheduler with LTTng would write them. LTTng adds its own
// event header (id and timestamp) to each. Read by the LTTng macros several
// times (the multi-read guard below is their protocol); the probes are
// instantiated once, in lttng_probes.cpp.
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER vrrl_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "peers/lttng_tracepoint.h"

#if !defined(VRRL_BENCH_PEERS_LTTNG_TRACEPOINT_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define VRRL_BENCH_PEERS_LTTNG_TRACEPOINT_H

#include <lttng/tracepoint.h>
#include <stdint.h>

LTTNG_UST_TRACEPOINT_EVENT(
    vrrl_bench, record,
    LTTNG_UST_TP_ARGS(uint64_t, timestamp_ns, uint32_t, slot_idx, uint32_t, tenant_id, uint32_t, opcode,
                      const uint32_t*, args, uint32_t, epoch),
    LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint64_t, timestamp_ns, timestamp_ns)
                            lttng_ust_field_integer(uint32_t, slot_idx, slot_idx)
                                lttng_ust_field_integer(uint32_t, tenant_id, tenant_id)
                                    lttng_ust_field_integer_hex(uint32_t, opcode, opcode)
                                        lttng_ust_field_array(uint32_t, args, args, 4)
                                            lttng_ust_field_integer(uint32_t, epoch, epoch)))

#endif

#include <lttng/tracepoint-event.h>
