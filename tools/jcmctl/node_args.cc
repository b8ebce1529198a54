#include "tools/jcmctl/node_args.h"

#include <cctype>
#include <charconv>
#include <set>

namespace jcm::ctl {

Result<nlohmann::json> ParseProtoPorts(std::string_view text) {
  nlohmann::json protos = nlohmann::json::array();
  std::set<std::string> seen;
  const std::string whole(text);
  while (true) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    size_t colon = part.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("ports '" + whole + "': '" + std::string(part) +
                                     "' is not PROTO:PORT (e.g. HTTP:8080)");
    }
    std::string proto(part.substr(0, colon));
    for (char& c : proto) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (proto != "HTTP" && proto != "TCP") {
      return Status::InvalidArgument("ports '" + whole + "': protocol '" +
                                     std::string(part.substr(0, colon)) + "' is not HTTP or TCP");
    }
    std::string_view digits = part.substr(colon + 1);
    int port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port < 1 ||
        port > 65535) {
      return Status::InvalidArgument("ports '" + whole + "': port '" + std::string(digits) +
                                     "' is not 1-65535");
    }
    if (!seen.insert(proto).second) {
      return Status::InvalidArgument("ports '" + whole + "': " + proto + " given twice");
    }
    protos.push_back({{"port", port}, {"proto", proto}});
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return protos;
}

nlohmann::json NodeDocument(const std::string& ip, const nlohmann::json& protos,
                            std::optional<int> weight, const std::string& udata) {
  nlohmann::json node = {{"ip", ip}, {"protos", protos}, {"online", "ONLINE"}};
  if (weight) node["weight"] = *weight;
  if (!udata.empty()) node["udata"] = udata;
  return node;
}

}  // namespace jcm::ctl
