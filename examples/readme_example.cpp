#include <vrrl/ring_log.hpp>
#include <cstdio>

int main() {
  auto log = vrrl::RingLog::open("dispatch.vrrl", 4096);  // created if missing
  log.append({.timestamp_ns = 1, .slot_idx = 0, .tenant_id = 7, .opcode = 42, .args = {1, 2, 3, 4}, .epoch = 1});
  log.sync();                                             // msync: on disk now
  for (vrrl::RecordView r : log.replay())                 // zero-copy, oldest first
    std::printf("tenant %u opcode %u epoch %u\n", r.tenant_id(), r.opcode(), r.epoch());
}
