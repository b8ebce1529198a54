#include "healthcheck/socket_address.h"

#include <arpa/inet.h>

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

}  // namespace jcm
