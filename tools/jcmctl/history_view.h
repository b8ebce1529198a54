// The table view of `jcmctl history`: one cluster's health transitions as
// the checker of one instance recorded them (GET /c/{name}/history), one row
// per transition, newest first. Pure functions of their input, so the layout
// is testable without a server.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace jcm::ctl {

// `history`: the reply's data ({"cluster", "owner", "checking", "nodes":
// {spec: [{"at", "from", "to", "reason"}, ...]}, "suspects": [spec, ...]}).
// Suspect nodes are marked in the NODE column and listed under the table
// (a suspect may have no transition of its own).
std::string RenderHistory(const nlohmann::json& history, bool color);

// Unix milliseconds as "2026-12-01 04:51:37.123" (UTC): transitions of one
// node can be less than a second apart, so the milliseconds stay.
std::string FormatUtc(int64_t unix_ms);

}  // namespace jcm::ctl
