// TlsContext: the API server's certificate and private key (PEM files,
// --tls-cert / --tls-key) loaded into an OpenSSL server context, with
// TLS 1.2 as the lowest protocol version and OpenSSL's default ciphers.
//
// Reload() reads the files again (SIGHUP) into a fresh context and swaps it
// in: connections accepted afterwards use the new certificate, connections
// already open keep the context they were accepted with (each holds a
// shared_ptr to it). A file that cannot be read, or a key that does not
// match its certificate, leaves the old context in place and returns the
// error naming the file.
//
// Thread-safety: all methods are thread-safe. Current() may be called from
// the I/O threads while Reload() runs on another.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "model/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace jcm {

class TlsContext {
 public:
  TlsContext(std::string cert_file, std::string key_file);
  ~TlsContext();

  // Loads both files; on error the previous context (if any) stays.
  Status Reload();
  // The context new connections use; null before a successful Reload().
  std::shared_ptr<boost::asio::ssl::context> Current() const;

  const std::string& cert_file() const { return cert_file_; }
  // The certificate's subject and expiry ("CN=...; notAfter=..."), for the
  // log line after a (re)load.
  std::string Describe() const;

 private:
  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;  // GUARDED_BY(mu_)
  std::string description_;                             // GUARDED_BY(mu_)
};

}  // namespace jcm
