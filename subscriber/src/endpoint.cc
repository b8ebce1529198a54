#include "jcm/endpoint.h"

namespace jcm {

const char* ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kAny:
      return "ANY";
    case Protocol::kHttp:
      return "HTTP";
    case Protocol::kTcp:
      return "TCP";
  }
  return "?";
}

std::string Endpoint::ToString() const {
  std::string out;
  bool v6 = ip().find(':') != std::string_view::npos;
  if (v6) out += '[';
  out += ip();
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port_);
  return out;
}

}  // namespace jcm
