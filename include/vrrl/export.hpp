// What every public vrrl header needs before anything else: the language
// check and the export macro. Each header in include/vrrl/ includes this first.
#pragma once

// vrrl's headers are C++20 (std::span, std::endian, std::atomic_ref,
// designated initializers); below C++20 they would fail deep inside with
// messages that do not say why, so they stop here with one that does.
#if !defined(__cplusplus) || __cplusplus < 202002L
#error "vrrl needs C++20. Fix: compile with -std=c++20 (CMake: link vrrl::vrrl, which sets cxx_std_20; Meson: cpp_std=c++20)"
#endif

// libvrrl.so is compiled with hidden visibility (lib/meson.build), so only
// what carries VRRL_EXPORT is part of its ABI; the Boost.Interprocess code it
// is built on stays private. Every public class with out-of-line members or a
// vtable, and every free function defined in lib/, carries it.
#if defined(__GNUC__)
#define VRRL_EXPORT [[gnu::visibility("default")]]
#else
#define VRRL_EXPORT
#endif
