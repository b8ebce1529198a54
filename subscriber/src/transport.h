// Transport: how the poller sends one /sub request to one server. The real
// one is HttplibTransport; tests may substitute their own.
//
// Thread-safety: Post() is called by one thread at a time (the poller);
// Cancel() and Interrupt() may be called from any thread while a Post()
// runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "model/status.h"

namespace jcm::internal {

class Transport {
 public:
  virtual ~Transport() = default;
  // POSTs a JSON `body` to <server><path>, over TLS when `server` is
  // "https://...". Returns the reply body for
  // HTTP 200; Unavailable (connect failure, timeout, other status) otherwise.
  // `reply_timeout` bounds the wait for the reply once connected.
  virtual Result<std::string> Post(const std::string& server, const std::string& path,
                                   const std::string& body,
                                   std::chrono::milliseconds reply_timeout) = 0;
  // Interrupts a Post in progress; every later Post fails at once.
  virtual void Cancel() = 0;
  // Ends the Post in progress, or else the next one before it sends, with
  // an Interrupted() status, so that the caller can resend a changed
  // request (a cluster was subscribed during a long poll). Not a failure of
  // the server.
  virtual void Interrupt() = 0;
};

// The status an interrupted Post returns, and its test.
Status Interrupted();
bool IsInterrupted(const Status& status);

// Splits "host:port" or "[v6]:port", optionally after "http://" or
// "https://" (then *tls tells which, when given). InvalidArgument names the
// bad part.
Status ParseServerAddress(const std::string& server, std::string* host, uint16_t* port,
                          bool* tls = nullptr);

}  // namespace jcm::internal
