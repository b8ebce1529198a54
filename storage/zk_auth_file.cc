#include "storage/zk_auth_file.h"

#include <fstream>
#include <sstream>

namespace jcm {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

Result<std::string> ReadZkAuthFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("--zk-auth-file: cannot read '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  // A credential file is a line; anything larger is not one.
  if (text.size() > 4096) {
    return Status::InvalidArgument("--zk-auth-file: '" + path + "' is over 4096 bytes");
  }
  size_t begin = 0, end = text.size();
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  std::string cred = text.substr(begin, end - begin);
  const std::string where = "--zk-auth-file: '" + path + "' ";
  if (cred.empty()) return Status::InvalidArgument(where + "is empty");
  for (char c : cred) {
    if (IsSpace(c) || static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument(where +
                                     "must hold one line 'user:password' without whitespace");
    }
  }
  size_t colon = cred.find(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument(where + "must hold 'user:password' (no ':' found)");
  }
  if (colon == 0) return Status::InvalidArgument(where + "has an empty user");
  if (colon + 1 == cred.size()) return Status::InvalidArgument(where + "has an empty password");
  return cred;
}

}  // namespace jcm
