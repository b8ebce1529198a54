// Socket addresses for the probers: an IPv4 or IPv6 literal plus a port,
// parsed once per target, never per check; and the source address probe
// sockets bind to before they connect (--check-source-ip).
//
// Thread-safety: a pure function.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace jcm {

// Fills *addr and *len for `ip`:`port`. Returns false if `ip` is not an IP
// literal.
bool FillSocketAddress(const std::string& ip, uint16_t port, sockaddr_storage* addr,
                       socklen_t* len);

// The local address checks are made from. Unset: the kernel picks.
struct SourceAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool set() const { return len > 0; }
  int family() const { return addr.ss_family; }
};

// Parses an IP literal (empty: unset). Returns false if it is neither.
bool ParseSourceAddress(const std::string& ip, SourceAddress* out);

// Binds `fd`, a socket of `family` about to connect, to `src` (any port).
// Nothing to do when `src` is unset or of the other family: an IPv4 source
// cannot reach an IPv6 node. Returns false with errno set if bind failed.
bool BindSource(int fd, const SourceAddress& src, int family);

}  // namespace jcm
