// The recording layout as other readers see it: python/vrrl (which was
// written against docs/format.md before this writer existed) reads what the
// C++ writer wrote, retention, prepared segments, dotfiles and all, and
// returns exactly RecordingReader's merge. Skipped with a message when
// Debian's python3 with numpy is not there.
#include <catch2/catch.hpp>

#include <cstdio>
#include <sstream>

#include <sys/wait.h>

#include <vrrl/recording.hpp>

#include "recording_support.hpp"
#include "support/temp_dir.hpp"

#ifndef VRRL_SOURCE_ROOT
#error "VRRL_SOURCE_ROOT must name the source tree (test/recording/meson.build sets it)"
#endif

namespace {

// Runs `command`, returning its standard output and exit status.
std::pair<std::string, int> run(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, got);
  const int status = ::pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

bool have_python_numpy() { return run("/usr/bin/python3 -c 'import numpy' 2>/dev/null").second == 0; }

}  // namespace

TEST_CASE("python/vrrl reads the writer's recordings: the same records, merge and sequences",
          "[recording][layout]") {
  if (!have_python_numpy()) {
    WARN("skipped: /usr/bin/python3 with numpy is not installed (scripts/install-deps test installs it)");
    return;
  }
  vrrl::test::TempDir dir;
  const auto run_dir = dir.file("run");
  {
    auto options = vrrl::test::small_segments(8);
    options.retain_segments = 4;  // the oldest segments are gone: streams start above 0
    vrrl::Recording recording = vrrl::Recording::open(run_dir, options);
    vrrl::StreamWriter a = recording.stream("alpha");
    vrrl::StreamWriter b = recording.stream("b-2");
    vrrl::StreamWriter c = recording.stream("c.3_x");
    for (std::uint32_t n = 0; n < 100; ++n) {
      vrrl::test::append_keyed(a, 0, n, n / 2);       // ties inside a stream
      if (n % 3 == 0) vrrl::test::append_keyed(b, 1, n, n / 2);  // and across streams
      if (n % 5 == 0) vrrl::test::append_keyed(c, 2, n, n);
    }
    a.sync();  // the rest is flushed by the writers' close; a prepared segment may follow each
  }
  const vrrl::RecordingReader reader = vrrl::RecordingReader::open(run_dir);
  std::ostringstream expected;
  for (const vrrl::StreamRecord& item : reader.replay()) {
    expected << item.record.timestamp_ns() << ' ' << item.stream_name << ' ' << item.sequence << ' '
             << item.record.epoch() << '\n';
  }
  const std::string script =
      "import sys, vrrl\n"
      "m = vrrl.open(sys.argv[1]).read()\n"
      "for r, s, q in zip(m.records, m.stream, m.sequence):\n"
      "    print(int(r['timestamp_ns']), m.stream_names[s], int(q), int(r['epoch']))\n";
  vrrl::test::write_text(dir.file("read.py"), script);
  const auto [output, status] = run("PYTHONPATH=" VRRL_SOURCE_ROOT "/python /usr/bin/python3 " +
                                    dir.file("read.py").string() + " " + run_dir.string() + " 2>&1");
  INFO(output.substr(0, 2000));
  REQUIRE(status == 0);
  CHECK(output == expected.str());
  CHECK(reader.stream_info()[0].first_sequence > 0);
}
