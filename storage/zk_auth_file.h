// ReadZkAuthFile: reads the credential of --zk-auth-file, one
// "user:password" line for ZooKeeper's digest scheme. Surrounding blank
// lines and the trailing newline are ignored; anything else (no colon, an
// empty user or password, whitespace inside, a second credential) is an
// InvalidArgument that names the file and what is wrong, never its content.
//
// Thread-safety: a free function with no state.
#pragma once

#include <string>

#include "model/status.h"

namespace jcm {

Result<std::string> ReadZkAuthFile(const std::string& path);

}  // namespace jcm
