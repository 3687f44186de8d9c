// `vrrl ship` and `vrrl pull`, registered by main.cpp when vrrl is built with
// libnats (meson option `nats`). docs/shipping.md is their manual.
#pragma once

#include "../command.hpp"

namespace vrrl::cli {

Command add_ship_command(CLI::App& vrrl);
Command add_pull_command(CLI::App& vrrl);

}  // namespace vrrl::cli
