// Socket addresses for the probers: an IPv4 or IPv6 literal plus a port,
// parsed once per target, never per check.
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

}  // namespace jcm
