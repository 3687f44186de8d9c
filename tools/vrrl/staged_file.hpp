// StagedFile: a new file written under a temporary name in the directory of
// its final path, and renamed into place only once it is complete, so a
// failure (or a signal the caller defers) never leaves half a file at that
// path. `vrrl convert` builds its output this way.
#pragma once

#include <filesystem>

namespace vrrl::cli {

class StagedFile {
 public:
  // Picks an unused hidden name beside `target` (".NAME.convert-PID-N.tmp",
  // or ".vrrl-convert-PID-N.tmp" for a very long NAME); creates nothing.
  // `replace`: commit() may replace a file already at `target`.
  StagedFile(std::filesystem::path target, bool replace);
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  // Removes the temporary file unless commit() succeeded.
  ~StagedFile();

  [[nodiscard]] const std::filesystem::path& temporary() const noexcept { return temporary_; }
  [[nodiscard]] const std::filesystem::path& target() const noexcept { return target_; }

  // Renames the temporary file to the target in one step, then fsyncs the
  // directory so the rename survives a power cut. Without `replace` a file
  // that appeared at the target meanwhile is never replaced (RENAME_NOREPLACE,
  // or link(2) where the filesystem lacks it). Throws vrrl::Error (io).
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temporary_;
  bool replace_;
  bool committed_ = false;
};

}  // namespace vrrl::cli
