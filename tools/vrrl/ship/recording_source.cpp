#include "recording_source.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "failure.hpp"
#include "log_source.hpp"
#include "names.hpp"

namespace vrrl::ship {
namespace {

constexpr std::size_t segment_name_digits = 20;

// The first sequence a segment file name says, or nullopt for other names.
std::optional<std::uint64_t> segment_first(const std::string& file_name) {
  if (file_name.size() != segment_name_digits + 5 || file_name.substr(segment_name_digits) != ".vrrl") {
    return std::nullopt;
  }
  const std::string digits = file_name.substr(0, segment_name_digits);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  if (digits > "18446744073709551615") return std::nullopt;
  return std::stoull(digits);
}

}  // namespace

RecordingLayout read_recording_layout(const std::filesystem::path& recording) {
  const std::filesystem::path metadata = recording / "vrrl-recording.txt";
  std::ifstream in(metadata);
  if (!in) {
    throw Failure("`" + recording.string() + "` is a directory without vrrl-recording.txt, so not a recording",
                  "ship a log file, or a recording directory written by vrrl");
  }
  std::string line;
  bool first = true;
  RecordingLayout layout;
  std::string segment_format = "v1";
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (first) {
      if (key != "vrrl-recording") {
        throw Failure("`" + metadata.string() + "` does not start with \"vrrl-recording 1\"",
                      "ship a recording directory written by vrrl");
      }
      if (value != "1") {
        throw Failure("`" + metadata.string() + "` has layout version " + value + "; this vrrl reads version 1",
                      "ship it with a newer vrrl");
      }
      first = false;
    } else if (key == "segment-format") {
      segment_format = value;
    } else if (key == "segment-capacity") {
      if (value.empty() || value.size() > 8 || value.find_first_not_of("0123456789") != std::string::npos) {
        throw Failure("`" + metadata.string() + "` has segment-capacity \"" + value + "\", not a number",
                      "repair the metadata file");
      }
      layout.segment_capacity = std::stoull(value);
    }
  }
  if (first) {
    throw Failure("`" + metadata.string() + "` is empty", "ship a recording directory written by vrrl");
  }
  if (segment_format != "v1") {
    throw Failure("`" + recording.string() + "` has segments in format " + segment_format +
                      "; this vrrl ship reads v1 segments",
                  "ship it with a newer vrrl");
  }
  if (layout.segment_capacity == 0 || layout.segment_capacity > format::max_capacity) {
    throw Failure("`" + metadata.string() + "` gives no segment-capacity between 1 and " +
                      std::to_string(format::max_capacity),
                  "repair the metadata file");
  }
  return layout;
}

std::vector<std::string> recording_streams(const std::filesystem::path& recording) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(recording, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(error) && is_valid_stream_name(name)) names.push_back(name);
  }
  if (error) {
    throw Failure("cannot list `" + recording.string() + "`: " + error.message(),
                  "check that this user may read the recording");
  }
  std::sort(names.begin(), names.end());
  return names;
}

RecordingStreamSource::RecordingStreamSource(std::filesystem::path stream_directory, std::string name,
                                             std::uint64_t segment_capacity, std::uint64_t start)
    : directory_(std::move(stream_directory)), name_(std::move(name)), capacity_(segment_capacity), position_(start) {}

std::map<std::uint64_t, std::filesystem::path> RecordingStreamSource::segments() const {
  std::map<std::uint64_t, std::filesystem::path> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, error)) {
    const std::string file_name = entry.path().filename().string();
    const auto first = segment_first(file_name);
    if (!first) continue;  // the writer's lock, cursor files, anything else
    if (*first % capacity_ != 0) {
      throw Failure("segment `" + entry.path().string() + "` starts at sequence " + std::to_string(*first) +
                        ", not a multiple of the segment capacity " + std::to_string(capacity_),
                    "the recording is damaged or its vrrl-recording.txt is wrong; ship the intact segments one by "
                    "one");
    }
    found.emplace(*first, entry.path());
  }
  if (error) {
    throw Failure("cannot list `" + directory_.string() + "`: " + error.message(),
                  "check that this user may read the recording");
  }
  return found;
}

bool RecordingStreamSource::open_next(RecordSink& sink) {
  const auto present = segments();
  auto holding = present.upper_bound(position_);  // the first segment starting after position_
  if (holding != present.begin() && std::prev(holding)->first + capacity_ > position_) {
    --holding;  // the segment that holds position_
  } else if (holding == present.end()) {
    return false;  // not written yet
  } else {
    // Nothing holds [position_, next segment): deleted or missing before it was shipped.
    sink.on_lost(position_, holding->first - position_);
    position_ = holding->first;
  }
  LogReader reader = LogReader::open(holding->second);
  if (reader.capacity() != capacity_) {
    throw Failure("segment `" + holding->second.string() + "` has " + std::to_string(reader.capacity()) +
                      " slots, but the recording's segment-capacity is " + std::to_string(capacity_),
                  "the recording is damaged or its vrrl-recording.txt is wrong");
  }
  current_ = std::make_unique<Open>(holding->first, std::move(reader), position_);
  return true;
}

void RecordingStreamSource::poll(RecordSink& sink, std::size_t max_records) {
  std::size_t budget = max_records;
  while (budget > 0) {
    if (!current_ && !open_next(sink)) return;
    const std::uint64_t before = current_->follower.position();
    poll_follower(current_->follower, current_->reader, sink, budget, name_);
    position_ = current_->follower.position();
    budget -= std::min<std::size_t>(budget, static_cast<std::size_t>(position_ - before));
    if (position_ < current_->first + capacity_) return;  // the segment is not full yet: wait for more
    current_.reset();                                      // full: go on in the next segment
  }
}

void RecordingStreamSource::seek(std::uint64_t sequence) {
  position_ = sequence;
  current_.reset();
}

std::uint64_t RecordingStreamSource::end() {
  const auto present = segments();
  if (present.empty()) return position_;
  // The newest segment may be an empty one prepared ahead of the partial one before it.
  auto newest = present.rbegin();
  const std::uint64_t appended = LogReader::open(newest->second).appended();
  if (appended > newest->first || std::next(newest) == present.rend()) return std::max(appended, newest->first);
  return std::max(LogReader::open(std::next(newest)->second).appended(), std::next(newest)->first);
}

}  // namespace vrrl::ship
