// write_recording DIR SEGMENT_CAPACITY STREAM FIRST COUNT [STRIDE]: appends
// the known records FIRST, FIRST+STRIDE, ... (COUNT of them; STRIDE 1 by
// default) to stream STREAM of the recording DIR (created with segments of
// SEGMENT_CAPACITY slots if missing), then syncs. Two streams written with
// stride 2 from 0 and from 1 merge back into the known sequence 0, 1, 2, ...
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include <vrrl/recording.hpp>

#include "known_records.hpp"

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: write_recording DIR SEGMENT_CAPACITY STREAM FIRST COUNT [STRIDE]\n");
    return 2;
  }
  try {
    vrrl::RecordingOptions options;
    options.segment_capacity = std::stoull(argv[2]);
    options.prefault = false;  // small test recordings: no need to touch every page ahead
    vrrl::Recording recording = vrrl::Recording::open(argv[1], options);
    vrrl::StreamWriter stream = recording.stream(argv[3]);
    const auto first = static_cast<std::uint32_t>(std::stoul(argv[4]));
    const auto count = static_cast<std::uint32_t>(std::stoul(argv[5]));
    const auto stride = static_cast<std::uint32_t>(argc == 7 ? std::stoul(argv[6]) : 1);
    for (std::uint32_t k = 0; k < count; ++k) {
      const auto record = vrrl::test_cli::known_record(first + k * stride);
      stream.append(record.slot, record.failure);
    }
    stream.sync();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "write_recording: %s\n", e.what());
    return 1;
  }
  return 0;
}
