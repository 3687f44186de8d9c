// The one stderr line dump, tail, stats and info print when replay stepped
// over slots whose magic is neither 0 nor 0xDEADBEEF (Recovery::skip_bad_slots).
#pragma once

#include <filesystem>
#include <iostream>
#include <string_view>

#include <vrrl/replay.hpp>

namespace vrrl::cli {

// Prints nothing and returns false when the replay met no bad slot.
inline bool warn_about_bad_slots(std::string_view command, const ReplayReport& report,
                                 const std::filesystem::path& log) {
  if (report.clean()) return false;
  std::cout.flush();  // keep stdout and stderr in order at a terminal
  std::cerr << "vrrl " << command << ": skipped " << report.bad_slots.size()
            << " slot(s) with a foreign record magic (first: slot " << report.bad_slots.front()
            << "). Fix: run `vrrl verify " << log.string() << "` to list them.\n";
  return true;
}

}  // namespace vrrl::cli
