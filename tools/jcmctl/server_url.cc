#include "tools/jcmctl/server_url.h"

#include <charconv>

namespace jcm::ctl {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status Bad(std::string_view text, const std::string& why) {
  return Status::InvalidArgument("server '" + std::string(text) + "': " + why);
}

}  // namespace

std::string ServerUrl::Base() const { return scheme + "://" + HostPort(); }

std::string ServerUrl::HostPort() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ServerUrl> ParseServerUrl(std::string_view text) {
  ServerUrl url;
  std::string_view rest = Trim(text);
  if (size_t sep = rest.find("://"); sep != std::string_view::npos) {
    url.scheme = std::string(rest.substr(0, sep));
    if (url.scheme != "http" && url.scheme != "https") {
      return Bad(text, "scheme must be http or https");
    }
    rest.remove_prefix(sep + 3);
  }
  // A trailing "/" is harmless (people paste base URLs); a path is not.
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return Bad(text, "a path is not allowed");
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Bad(text, "missing ']' after the IPv6 address");
    url.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad(text, "expected ':port' after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return Bad(text, "empty port");
    }
  } else {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
      return Bad(text, "write an IPv6 address in brackets, e.g. [::1]:8600");
    }
    url.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return Bad(text, "empty port");
    }
  }
  if (url.host.empty()) return Bad(text, "no host");
  if (!port_text.empty()) {
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      return Bad(text, "port '" + std::string(port_text) + "' is not 1-65535");
    }
    url.port = port;
  }
  return url;
}

Result<std::vector<ServerUrl>> ParseServerList(std::string_view text) {
  std::vector<ServerUrl> out;
  while (true) {
    size_t comma = text.find(',');
    std::string_view part = Trim(text.substr(0, comma));
    if (!part.empty()) {
      Result<ServerUrl> url = ParseServerUrl(part);
      if (!url.ok()) return url.status();
      out.push_back(std::move(url).value());
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (out.empty()) return Status::InvalidArgument("--server: no server address given");
  return out;
}

}  // namespace jcm::ctl
