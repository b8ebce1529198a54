// HttplibTransport: Transport over cpp-httplib's blocking client, one
// keep-alive connection per server, TCP_NODELAY on (without it Nagle plus
// delayed ACK cost ~40 ms per request, see shared/measured.md).
//
// A server given as "https://host:port" is spoken to over TLS; its
// certificate must chain to a CA in `ca_file` (the system's store if empty)
// and name the host (DNS name or IP) the address gives.
//
// A reply is read into memory up to `max_reply_bytes` and no further: a
// server (or anything answering on its port) that sends more is a failed
// server, not an application out of memory.
//
// Thread-safety: as Transport.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "subscriber/src/transport.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace jcm::internal {

class HttplibTransport : public Transport {
 public:
  // 256 MiB: far above any real reply (10,000 clusters of 100 nodes is ~100
  // MB of JSON), far below what would threaten the application.
  static constexpr size_t kDefaultMaxReplyBytes = 256u * 1024 * 1024;

  // `token`: sent as "Authorization: Bearer <token>" when not empty.
  // `ca_file`: CA certificates (PEM) for https:// servers.
  explicit HttplibTransport(std::chrono::milliseconds connect_timeout,
                            size_t max_reply_bytes = kDefaultMaxReplyBytes, std::string token = "",
                            std::string ca_file = "");
  ~HttplibTransport() override;

  Result<std::string> Post(const std::string& server, const std::string& path,
                           const std::string& body,
                           std::chrono::milliseconds reply_timeout) override;
  void Cancel() override;
  void Interrupt() override;

 private:
  const std::chrono::milliseconds connect_timeout_;
  const size_t max_reply_bytes_;
  const std::string token_;
  const std::string ca_file_;
  std::map<std::string, std::unique_ptr<httplib::Client>> clients_;  // poller thread only
  std::mutex mu_;                                                    // guards the two fields below
  httplib::Client* active_ = nullptr;                                // GUARDED_BY(mu_)
  bool interrupt_pending_ = false;                                   // GUARDED_BY(mu_)
  std::atomic<bool> cancelled_{false};
};

}  // namespace jcm::internal
