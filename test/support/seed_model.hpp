// An independent, byte-by-byte model of the seed's RingLog
// (the seed, the original Rust ring_log.rs; docs/format.md, "The seed"), written with stream I/O and no vrrl code, so
// that parity tests compare vrrl against the seed's layout rather than against
// itself. Line numbers refer to the seed file.
#pragma once

#include <array>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vrrl::test {

// The seed's RecordedSlot, spelled out again on purpose.
struct SeedRecord {
  std::uint64_t timestamp_ns;
  std::uint32_t slot_idx, tenant_id, opcode;
  std::array<std::uint32_t, 4> args;
  std::uint32_t epoch;
  bool operator==(const SeedRecord&) const = default;
};

inline void put_u32(std::vector<unsigned char>& buf, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) buf[at + i] = static_cast<unsigned char>(v >> (8 * i));
}
inline void put_u64(std::vector<unsigned char>& buf, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) buf[at + i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint32_t get_u32(const std::vector<unsigned char>& buf, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | buf[at + i];
  return v;
}
inline std::uint64_t get_u64(const std::vector<unsigned char>& buf, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | buf[at + i];
  return v;
}

// The bytes of a whole log file as the seed leaves it after create (lines
// 197-214) and then `appends` (lines 243-283, cursor kept modulo capacity).
inline std::vector<unsigned char> seed_file_bytes(std::uint64_t capacity, const std::vector<SeedRecord>& appends) {
  std::vector<unsigned char> file(32 + 64 * capacity, 0);
  std::memcpy(file.data(), "VRRL0001", 8);
  put_u32(file, 8, 1);
  put_u32(file, 12, 0);
  put_u64(file, 16, capacity);
  std::uint64_t next_slot = 0;
  for (const SeedRecord& r : appends) {
    const std::size_t at = 32 + 64 * next_slot;
    std::fill(file.begin() + at, file.begin() + at + 64, 0);  // buf = [0u8; 64]
    put_u32(file, at + 0, 0xDEADBEEF);
    put_u64(file, at + 4, r.timestamp_ns);
    put_u32(file, at + 12, r.slot_idx);
    put_u32(file, at + 16, r.tenant_id);
    put_u32(file, at + 20, r.opcode);
    for (int i = 0; i < 4; ++i) put_u32(file, at + 24 + 4 * i, r.args[i]);
    put_u32(file, at + 40, r.epoch);
    next_slot = (next_slot + 1) % capacity;
    put_u64(file, 24, next_slot);
  }
  return file;
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("seed_model: cannot write " + path.string());
}

inline std::vector<unsigned char> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The seed's writer as system calls, for live readers to race: open an
// existing log (lines 160-195: the cursor read modulo capacity), then each
// append is seek + write(64 bytes, magic first, evidence zero) + seek +
// write(cursor = next slot) (lines 243-283). No lock, no clear before the body.
class SeedWriter {
 public:
  explicit SeedWriter(const std::filesystem::path& path) {
    const std::vector<unsigned char> header = read_bytes(path);
    if (header.size() < 32) throw std::runtime_error("seed_model: not a log: " + path.string());
    capacity_ = get_u64(header, 16);
    next_slot_ = get_u64(header, 24) % capacity_;
    file_ = std::fopen(path.c_str(), "r+b");
    if (file_ == nullptr) throw std::runtime_error("seed_model: cannot open " + path.string());
    std::setvbuf(file_, nullptr, _IONBF, 0);  // each write is one write(2), as Rust's File
  }
  SeedWriter(const SeedWriter&) = delete;
  SeedWriter& operator=(const SeedWriter&) = delete;
  ~SeedWriter() { std::fclose(file_); }

  void append(const SeedRecord& r) {
    std::vector<unsigned char> buf(64, 0);
    put_u32(buf, 0, 0xDEADBEEF);
    put_u64(buf, 4, r.timestamp_ns);
    put_u32(buf, 12, r.slot_idx);
    put_u32(buf, 16, r.tenant_id);
    put_u32(buf, 20, r.opcode);
    for (int i = 0; i < 4; ++i) put_u32(buf, 24 + 4 * i, r.args[i]);
    put_u32(buf, 40, r.epoch);
    write_at(32 + 64 * next_slot_, buf);
    next_slot_ = (next_slot_ + 1) % capacity_;
    std::vector<unsigned char> cursor(8, 0);
    put_u64(cursor, 0, next_slot_);
    write_at(24, cursor);
  }

 private:
  void write_at(std::uint64_t offset, const std::vector<unsigned char>& bytes) {
    if (std::fseek(file_, static_cast<long>(offset), SEEK_SET) != 0 ||
        std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
      throw std::runtime_error("seed_model: write failed");
    }
  }

  std::FILE* file_ = nullptr;
  std::uint64_t capacity_ = 0;
  std::uint64_t next_slot_ = 0;
};

// What the seed's open (lines 160-195) + replay_all (lines 285-337) return
// for a file, or the name of the error variant they would raise.
struct SeedReplay {
  std::optional<std::string> error;  // "HeaderMismatch", "ZeroCapacity", "CapacityOverflow", "Io"
  std::uint64_t cursor = 0;
  std::vector<SeedRecord> records;
};

inline SeedReplay seed_open_and_replay(const std::filesystem::path& path) {
  const std::vector<unsigned char> file = read_bytes(path);
  if (file.size() < 32) return {"Io", 0, {}};  // read_exact fails
  if (std::memcmp(file.data(), "VRRL0001", 8) != 0) return {"HeaderMismatch", 0, {}};
  if (get_u32(file, 8) != 1) return {"HeaderMismatch", 0, {}};
  const std::uint64_t capacity = get_u64(file, 16);
  if (capacity == 0) return {"ZeroCapacity", 0, {}};
  if (capacity > 1'048'576) return {"CapacityOverflow", 0, {}};
  const std::uint64_t cursor = get_u64(file, 24) % capacity;
  SeedReplay out{std::nullopt, cursor, {}};
  for (std::uint64_t step = 0; step < capacity; ++step) {
    const std::uint64_t slot = (cursor + step) % capacity;
    const std::size_t at = 32 + 64 * slot;
    if (at + 64 > file.size()) return {"Io", cursor, {}};  // read_exact fails
    const std::uint32_t magic = get_u32(file, at);
    if (magic == 0) continue;
    if (magic != 0xDEADBEEF) return {"HeaderMismatch", cursor, {}};
    out.records.push_back({get_u64(file, at + 4), get_u32(file, at + 12), get_u32(file, at + 16),
                           get_u32(file, at + 20),
                           {get_u32(file, at + 24), get_u32(file, at + 28), get_u32(file, at + 32),
                            get_u32(file, at + 36)},
                           get_u32(file, at + 40)});
  }
  return out;
}

}  // namespace vrrl::test
