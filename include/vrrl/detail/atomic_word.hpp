// detail::atomic_word: a naturally aligned word of a mapped log as an atomic.
// Every atomic access vrrl makes to file bytes (record magics, the header
// cursor, a Follower's word-by-word copy) goes through this one function.
// Implementation detail of the public headers; not API.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace vrrl::detail {

// `at` must be aligned for T: record magics sit at 32 + 64 i (v1) in a page
// aligned mapping, the cursor at offset 24. atomic_ref needs a non-const
// object; loads through a PROT_READ mapping never write, so const bytes are
// fine for them. Lock-free, so the same word is atomic between processes that
// map the file, not only between threads.
template <class T>
  requires(std::is_same_v<T, std::uint32_t> || std::is_same_v<T, std::uint64_t>)
[[nodiscard]] inline std::atomic_ref<T> atomic_word(const std::byte* at) noexcept {
  static_assert(std::atomic_ref<T>::is_always_lock_free, "vrrl needs lock-free 32- and 64-bit atomics");
  return std::atomic_ref<T>(*std::launder(reinterpret_cast<T*>(const_cast<std::byte*>(at))));
}

}  // namespace vrrl::detail
