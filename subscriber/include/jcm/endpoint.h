// The values a pick hands back: which protocol was asked for, the address
// picked, and whether the pick came from the panic fallback.
//
// These types are self-contained (no model/ or JSON headers) so an
// application that includes <jcm/subscriber.h> sees only the public API.
//
// Thread-safety: plain values, trivially copyable; copies may be used from
// any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace jcm {

// The protocol a caller will speak to the node. kAny takes the node's HTTP
// port when it has one, else its TCP port.
enum class Protocol : uint8_t { kAny, kHttp, kTcp };

const char* ProtocolName(Protocol protocol);

// An address to connect to. The IP literal is held inline (no allocation) so
// handing one out per pick costs a copy of a few dozen bytes, nothing more.
class Endpoint {
 public:
  // Longest IPv6 literal with an embedded IPv4 tail, plus room to spare.
  static constexpr size_t kMaxIpLength = 46;

  Endpoint() = default;
  // `ip` longer than kMaxIpLength is truncated; jcm's validation refuses
  // such addresses long before they reach a subscriber.
  Endpoint(std::string_view ip, uint16_t port, Protocol protocol)
      : port_(port), protocol_(protocol) {
    ip_len_ = static_cast<uint8_t>(ip.size() < kMaxIpLength ? ip.size() : kMaxIpLength);
    std::memcpy(ip_, ip.data(), ip_len_);
  }

  std::string_view ip() const { return std::string_view(ip_, ip_len_); }
  uint16_t port() const { return port_; }
  // The protocol of `port()`: kHttp or kTcp, never kAny.
  Protocol protocol() const { return protocol_; }
  // "10.0.0.7:8080", or "[::1]:8080" for IPv6.
  std::string ToString() const;

  bool operator==(const Endpoint& other) const {
    return port_ == other.port_ && protocol_ == other.protocol_ && ip() == other.ip();
  }

 private:
  char ip_[kMaxIpLength] = {};
  uint8_t ip_len_ = 0;
  uint16_t port_ = 0;
  Protocol protocol_ = Protocol::kAny;
};

// The outcome of one pick. A default-constructed Pick is "none": the cluster
// is unknown, removed, not loaded yet, or has no online node with the asked
// protocol. Picks never throw.
class Pick {
 public:
  Pick() = default;
  Pick(const Endpoint& endpoint, bool panic) : endpoint_(endpoint), ok_(true), panic_(panic) {}

  // True iff a node was picked.
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // True iff the node came from the panic fallback: the server flagged the
  // cluster, or no usable node had the protocol, so the pick was made among
  // all ONLINE nodes regardless of health.
  bool panic() const { return panic_; }

  // REQUIRES: ok().
  const Endpoint& endpoint() const { return endpoint_; }
  std::string_view ip() const { return endpoint_.ip(); }
  uint16_t port() const { return endpoint_.port(); }

 private:
  Endpoint endpoint_;
  bool ok_ = false;
  bool panic_ = false;
};

}  // namespace jcm
