// SubscribeHandler: POST /sub, as docs/subscribe-protocol.md specifies.
//
// JCM form (no "ext"): units are RESP_UPDATE / RESP_STATUS / RESP_REMOVE
// with only the fields JCM's Java model has (its mapper fails on unknown
// fields): unit {name, kind, cluster | invalids}, cluster in
// ClusterJsonForm::kJcm.
//
// Extended form ("ext": 1): a status version per unit; RESP_NOCHANGE when the
// caller is current; RESP_STATUS carries statusVersion and panic; RESP_UPDATE
// carries the cluster in ClusterJsonForm::kFull. With "delta": 1 as well, a
// unit whose version the cache still holds (EncodedClusterCache::Find) is
// answered RESP_DELTA: the changed nodes only. With "waitMs" > 0 and every
// unit RESP_NOCHANGE, the request parks in a LongPollTable under the names it
// holds, costing no thread: a change to one of them (OnClusterChanged)
// re-evaluates it at once and answers as soon as one unit is not
// RESP_NOCHANGE; otherwise it answers all RESP_NOCHANGE after waitMs. At most
// `max_parked` park at once; beyond that a request is answered at once and
// the client falls back to its normal poll interval.
//
// A body answered at once is remembered with the registry's change counter
// (SubReplyCache): the same body again, with nothing changed anywhere since,
// gets the same reply without being parsed again.
//
// "invalids" are the specs of nodes that are not Usable() (offline, or not
// NORMAL). A cluster that is missing or OFFLINE is RESP_REMOVE.
//
// Thread-safety: Handle() may be called from any number of threads at once,
// each call on its connection's executor; OnClusterChanged() and Shutdown()
// from any thread. A parked poll's timer and re-evaluations run on the
// executor given to Handle(), so one poll is never worked on concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "api/api_counters.h"
#include "api/body_keyed_cache.h"
#include "api/encoded_cluster_cache.h"
#include "api/http_reply.h"
#include "api/long_poll_table.h"
#include "api/name_service.h"
#include "api/sub_reply_cache.h"
#include "model/status.h"

namespace jcm {

class ApiMetrics;

struct SubscribeOptions {
  size_t max_parked = 10000;
  std::chrono::milliseconds max_wait{30000};  // waitMs above this is capped
  // Units per request, counted before duplicates are merged (a request of
  // 10,000 copies of one large cluster would otherwise build gigabytes).
  size_t max_units = 1000;
  // A reply larger than this is refused (413) rather than built.
  size_t max_reply_bytes = 64 * 1024 * 1024;
  // Where each parked poll's wait is observed (by outcome); null: nowhere.
  ApiMetrics* metrics = nullptr;
};

class SubscribeHandler {
 public:
  // `names`, `cache` and `counters` must outlive the handler.
  SubscribeHandler(SubscribeOptions options, const NameService* names, EncodedClusterCache* cache,
                   ApiCounters* counters);

  // Gets the answer to one /sub body: the bare {"units": [...]} reply, or an
  // InvalidArgument naming the field and value. `respond` is called once,
  // before Handle returns or, for a parked poll, later on `executor`.
  using Responder = std::function<void(Result<HttpReply>)>;
  void Handle(std::string_view body, boost::asio::any_io_executor executor, Responder respond);

  // The NameService's change listener: wakes the polls holding `name`.
  void OnClusterChanged(const std::string& name);

  // Answers every parked poll now; new ones no longer park.
  void Shutdown();

  size_t parked() const { return table_.size(); }

 private:
  struct Unit {
    std::string name;
    int64_t version = 0;
    int64_t status_version = 0;
  };
  struct Request {
    bool ext = false;
    bool delta = false;  // RESP_DELTA welcome ("delta": 1)
    std::chrono::milliseconds wait{0};
    std::vector<Unit> units;
  };

  Status Decode(const nlohmann::json& doc, Request* out) const;
  // Sets `units` to the serialised array of reply units, one per request
  // unit. Returns true iff every one is RESP_NOCHANGE. Built as text so the
  // cached cluster encodings are spliced in, not re-encoded.
  bool Evaluate(const Request& request, std::string* units) const;
  void AppendUnit(const Request& request, const Unit& unit, std::string* out, bool* nochange) const;
  // The reply around `units`, or TooLarge past max_reply_bytes.
  Result<HttpReply> Reply(const std::string& units) const;
  // The reply cache's answer to `body` as of change counter `seen` (counted
  // in sub_cached_replies), or nullopt.
  std::optional<HttpReply> CachedReply(std::string_view body, uint64_t seen);
  // Reply(units), stored in the reply cache for `body` as of `seen`: only
  // for answers given at once (see SubReplyCache).
  Result<HttpReply> RememberedReply(std::string_view body, uint64_t seen, const std::string& units);
  struct Poll;
  // Parks `poll` if nothing it holds changed since `seen`; answers it
  // otherwise. REQUIRES: on the poll's executor, the poll not parked.
  void ParkOrAnswer(const std::shared_ptr<Poll>& poll, uint64_t seen, std::string units);
  // Re-evaluates a poll taken out of the table after a change.
  void Resume(const std::shared_ptr<Poll>& poll);
  // `changed`: the units carry a change (else the poll's wait ran out).
  void AnswerWith(const std::shared_ptr<Poll>& poll, Result<HttpReply> reply, bool changed);
  void Answer(const std::shared_ptr<Poll>& poll, std::string units, bool changed);
  void UpdateParkedGauge();

  const SubscribeOptions options_;
  const NameService* const names_;
  EncodedClusterCache* const cache_;
  ApiCounters* const counters_;
  LongPollTable table_;
  SubReplyCache replies_;
  // Decoded bodies: a parked poll's body is usually one many others sent too.
  BodyKeyedCache<Request> decoded_{4096, 4096};
  std::atomic<bool> stopping_{false};
};

}  // namespace jcm
