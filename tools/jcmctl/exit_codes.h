// jcmctl's exit codes, the contract scripts rely on (docs/jcmctl.md).
//
// Thread-safety: constants only.
#pragma once

namespace jcm::ctl {

inline constexpr int kExitOk = 0;
// The server refused the request, no server answered, or the command failed.
inline constexpr int kExitFailed = 1;
// The command line is wrong: unknown command or option, missing or
// malformed argument. Nothing was sent.
inline constexpr int kExitUsage = 2;

}  // namespace jcm::ctl
