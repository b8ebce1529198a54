#include "healthcheck/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace jcm {

bool FillSocketAddress(const std::string& ip, uint16_t port, sockaddr_storage* addr,
                       socklen_t* len) {
  *addr = sockaddr_storage{};
  if (ip.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
    return inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) == 1;
  }
  auto* a = reinterpret_cast<sockaddr_in*>(addr);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  *len = sizeof(sockaddr_in);
  return inet_pton(AF_INET, ip.c_str(), &a->sin_addr) == 1;
}

bool ParseSourceAddress(const std::string& ip, SourceAddress* out) {
  *out = SourceAddress{};
  if (ip.empty()) return true;
  SourceAddress src;
  if (!FillSocketAddress(ip, 0, &src.addr, &src.len)) return false;
  *out = src;
  return true;
}

bool BindSource(int fd, const SourceAddress& src, int family) {
  if (!src.set() || src.family() != family) return true;
  // The port is chosen at connect, from the whole (source, destination)
  // space, rather than at bind, where each bind would use one up for good.
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  return bind(fd, reinterpret_cast<const sockaddr*>(&src.addr), src.len) == 0;
}

}  // namespace jcm
