// detail: the recording directory on disk (docs/format.md, "Recording
// directory"): names, the metadata file, listing a stream's segments, segment
// headers, the `.dropped` file and the byte-1 segment locks. Everything here
// is a cold path used by the writer, the reader and the follower alike.
// Private to lib/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vrrl/error.hpp>
#include <vrrl/format.hpp>
#include <vrrl/ring_log.hpp>  // vrrl::Format

namespace vrrl::detail {

inline constexpr std::string_view metadata_file_name = "vrrl-recording.txt";
inline constexpr std::string_view writer_lock_name = ".writer.lock";
inline constexpr std::string_view dropped_file_name = ".dropped";
// A segment retention retired, kept (hidden) for the next preparation to recycle.
inline constexpr std::string_view spare_segment_name = ".spare.vrrl";
inline constexpr std::uint32_t layout_version = 1;
inline constexpr std::size_t max_stream_name_bytes = 128;
inline constexpr std::size_t segment_name_digits = 20;

// --- names -----------------------------------------------------------------

// Why `name` cannot name a stream, or nothing when it can:
// [A-Za-z0-9._-]{1,128}, not starting with '.'.
[[nodiscard]] std::optional<std::string> stream_name_problem(std::string_view name);
// Throws ErrorKind::invalid_name (operation "open", path = recording / name
// when printable) unless `name` can name a stream.
void check_stream_name(std::string_view name, const std::filesystem::path& recording);
// `name` quoted for a message, control and non-ASCII bytes escaped as \xNN.
[[nodiscard]] std::string printable(std::string_view name);

// "00000000000001048576.vrrl"
[[nodiscard]] std::string segment_file_name(std::uint64_t first_sequence);
// The first sequence a segment file name states, or nothing for any other name.
[[nodiscard]] std::optional<std::uint64_t> parse_segment_name(std::string_view name);
// Names a killed writer may leave in a stream directory: files being created
// (create_log's `.vrrl-*.creating`, the older `<segment>.creating.<pid>.<n>`),
// segments being recycled and spares. Safe to delete by the stream's writer.
[[nodiscard]] bool is_leftover_name(std::string_view name);
// Names readers never treat as foreign (dotfiles, files being created).
[[nodiscard]] bool is_ignored_name(std::string_view name);

// --- metadata ----------------------------------------------------------------

struct RecordingMetadata {
  std::uint32_t layout_version = detail::layout_version;
  std::uint64_t segment_capacity = 0;  // 0: not stated (readers use each segment's header)
  std::uint64_t retain_segments = 0;
  std::uint64_t retain_bytes = 0;
  friend bool operator==(const RecordingMetadata&, const RecordingMetadata&) = default;
};

// Parses DIR/vrrl-recording.txt. Missing, not a regular file, not text, no
// `vrrl-recording N` first line, bad numbers -> not_a_recording; layout
// version above 1, segment-format other than v1 -> header_mismatch; a stated
// segment-capacity outside 1 ..= max -> zero_capacity / capacity_overflow.
// Nothing when the file does not exist and `missing_ok`.
[[nodiscard]] std::optional<RecordingMetadata> read_metadata(const std::filesystem::path& dir, bool missing_ok);
[[nodiscard]] std::string encode_metadata(const RecordingMetadata& metadata);
// Writes the metadata under a temporary name, fsyncs it and renames it into
// place (replacing any), then fsyncs the directory.
void write_metadata(const std::filesystem::path& dir, const RecordingMetadata& metadata);
// As write_metadata, but only if there is none yet (link, not rename): false
// when another writer created it first.
[[nodiscard]] bool create_metadata(const std::filesystem::path& dir, const RecordingMetadata& metadata);

// --- a stream directory ------------------------------------------------------

struct SegmentFile {
  std::uint64_t first = 0;  // from the name
  std::filesystem::path path;
};

struct StreamListing {
  std::vector<SegmentFile> segments;          // sorted by first sequence
  std::vector<std::filesystem::path> foreign;  // neither segments nor ignored names
  std::vector<std::filesystem::path> leftovers;
};

// Lists a stream directory (one readdir; nothing opened). Throws io.
[[nodiscard]] StreamListing list_stream(const std::filesystem::path& stream_dir, const char* operation);
// readdir() need not return files created while it runs, so with a live
// writer a listing can show a segment and miss the ones just before it
// (created during the listing, in order). For each hole between listed
// segments of capacity `capacity`, looks up by name the segments at both of
// its ends, inwards while they exist, and adds them. What stays is a real
// hole: those segments are gone (or never were).
void fill_listing_holes(StreamListing& listing, std::uint64_t capacity);
// Whether a segment file named for `first` exists in `stream_dir`.
[[nodiscard]] bool segment_exists(const std::filesystem::path& stream_dir, std::uint64_t first);
// The stream directories of a recording, sorted by name, and the entries
// that look like directories of streams but are not validly named.
struct RecordingListing {
  std::vector<std::string> streams;
  std::vector<std::filesystem::path> badly_named;
};
[[nodiscard]] RecordingListing list_recording(const std::filesystem::path& dir, const char* operation);

// A segment's header as stored, checked as a log (check_header), as a v1
// segment (recordings hold v1 segments), and against its name: capacity
// (== `expected_capacity` unless 0), first % C, first <= cursor <= first + C. Throws the problem (operation "open"); returns
// nothing when the file does not exist (retention removed it).
struct SegmentHeader {
  std::uint64_t capacity = 0;
  std::uint64_t cursor = 0;
};
[[nodiscard]] std::optional<SegmentHeader> read_segment_header(const SegmentFile& segment,
                                                               std::uint64_t expected_capacity);
// The same checks on a header already read (a mapping's), as an Error.
[[nodiscard]] std::optional<Error> segment_header_problem(const SegmentFile& segment, Format format,
                                                          std::uint64_t capacity, std::uint64_t cursor,
                                                          std::uint64_t expected_capacity);

// The timestamp of the newest complete record among sequences [first, cursor)
// of a segment, read with pread; nothing when there is none or the file is gone.
[[nodiscard]] std::optional<std::uint64_t> read_last_timestamp(const SegmentFile& segment, std::uint64_t cursor);

// `.dropped`: how many appends the stream's writers dropped. 0 when missing
// or unreadable (it is a count for people, not a contract).
[[nodiscard]] std::uint64_t read_dropped(const std::filesystem::path& stream_dir);
void write_dropped(const std::filesystem::path& stream_dir, std::uint64_t dropped);

// --- byte-1 segment locks (docs/design.md, "Recordings") -------------------

// Readers that map a segment hold an OFD read lock on its byte 1 (the
// writer's lock covers byte 0 only); the recycler takes a write lock there
// before rewriting one. Both non-blocking: false when the other side holds it.
[[nodiscard]] bool lock_segment_for_reading(int fd, const std::filesystem::path& path);
[[nodiscard]] bool lock_segment_for_recycling(int fd, const std::filesystem::path& path);

// fsync of a directory, best effort where directories cannot be synced.
void sync_directory_of(const std::filesystem::path& dir, const char* operation);

}  // namespace vrrl::detail
