// expect_error(fn): runs fn, which must throw vrrl::Error, and returns the
// error for the test to inspect; fails the test case when nothing is thrown.
#pragma once

#include <catch2/catch.hpp>

#include <stdexcept>

#include <vrrl/error.hpp>

namespace vrrl::test {

template <class Fn>
Error expect_error(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected a vrrl::Error");
  throw std::logic_error("unreachable");
}

}  // namespace vrrl::test
