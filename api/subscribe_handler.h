// SubscribeHandler: POST /sub, as docs/subscribe-protocol.md specifies.
//
// JCM form (no "ext"): units are RESP_UPDATE / RESP_STATUS / RESP_REMOVE
// with only the fields JCM's Java model has (its mapper fails on unknown
// fields): unit {name, kind, cluster | invalids}, cluster in
// ClusterJsonForm::kJcm.
//
// Extended form ("ext": 1): a status version per unit; RESP_NOCHANGE when the
// caller is current; RESP_STATUS carries statusVersion and panic; RESP_UPDATE
// carries the cluster in ClusterJsonForm::kFull. With "waitMs" > 0 and every
// unit RESP_NOCHANGE, the request parks until NameService::ChangeCounter()
// moves (then every unit is re-evaluated; it answers as soon as one is not
// RESP_NOCHANGE) or waitMs passes. A parked poll holds an HTTP worker thread
// for its whole wait, so at most `max_parked` park at once; beyond that the
// request is answered at once, all RESP_NOCHANGE, and the client falls back
// to its normal poll interval.
//
// "invalids" are the specs of nodes that are not Usable() (offline, or not
// NORMAL). A cluster that is missing or OFFLINE is RESP_REMOVE.
//
// Thread-safety: Handle() may be called from any number of threads at once;
// Shutdown() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_counters.h"
#include "api/encoded_cluster_cache.h"
#include "api/http_reply.h"
#include "api/name_service.h"
#include "model/status.h"

namespace jcm {

struct SubscribeOptions {
  int max_parked = 16;
  std::chrono::milliseconds max_wait{30000};  // waitMs above this is capped
  size_t max_units = 10000;
  // A parked poll wakes at least this often to notice Shutdown(): the
  // NameService's wait cannot be interrupted from here.
  std::chrono::milliseconds wake_slice{250};
};

class SubscribeHandler {
 public:
  // `names`, `cache` and `counters` must outlive the handler.
  SubscribeHandler(SubscribeOptions options, const NameService* names, EncodedClusterCache* cache,
                   ApiCounters* counters);

  // Answers one /sub body: the bare {"units": [...]} reply, or an
  // InvalidArgument naming the field and value. May block up to waitMs.
  Result<HttpReply> Handle(std::string_view body);

  // Parked polls answer within wake_slice; new ones no longer park.
  void Shutdown() { stopping_.store(true, std::memory_order_release); }

 private:
  struct Unit {
    std::string name;
    int64_t version = 0;
    int64_t status_version = 0;
  };
  struct Request {
    bool ext = false;
    std::chrono::milliseconds wait{0};
    std::vector<Unit> units;
  };

  Status Decode(const nlohmann::json& doc, Request* out) const;
  // Sets `units` to the serialised array of reply units, one per request
  // unit. Returns true iff every one is RESP_NOCHANGE. Built as text so the
  // cached cluster encodings are spliced in, not re-encoded.
  bool Evaluate(const Request& request, std::string* units) const;
  void AppendUnit(const Request& request, const Unit& unit, std::string* out, bool* nochange) const;
  bool TryPark();
  void Unpark();

  const SubscribeOptions options_;
  const NameService* const names_;
  EncodedClusterCache* const cache_;
  ApiCounters* const counters_;
  std::atomic<bool> stopping_{false};
};

}  // namespace jcm
