// OpinionClient: the asking side of second opinions (issue 12 item 2). The
// CheckEngine's OpinionSource: for each question it sends POST /sys/probe
// (api/peer_probe.h) to the k peers the ring names after the cluster's
// owner, and delivers one verdict -- "reachable" as soon as one peer
// reached the node, "unreachable" once every peer answered without
// reaching it, "no answer" if no peer answered at all. The engine bounds the
// wait itself; requests here time out at the question's timeout too.
//
// Never blocks the checker: Ask only queues. kWorkers threads send; a
// worker takes every queued question for the same peer (up to
// kMaxPeerProbes) into one request, so a mass failure costs a few requests
// per peer, not one per node. A full queue makes Ask return false (the
// engine then decides alone, as without peers).
//
// Credentials. With a tokens file, the peer's /sys/probe needs a write
// token; this instance sends the first `write` token of its own tokens
// file (re-read at most every 5 s, so SIGHUP rotations are followed).
// Instances that share a tokens file -- the usual deployment -- therefore
// authenticate each other with no new secret to distribute; instances with
// distinct files need one write token in common. Without a tokens file
// nothing is sent and the route is open, as every write route is then.
//
// Thread-safety: Ask may be called from any thread (the checker's); the
// deliver callback runs on a worker thread. Start/Stop from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "healthcheck/opinion_source.h"

namespace jcm {

class OpinionClient : public OpinionSource {
 public:
  // The peers to ask about a cluster (not this instance), at most k.
  using PeersFn = std::function<std::vector<std::string>(const std::string& cluster, size_t k)>;
  using DeliverFn = std::function<void(uint64_t id, OpinionVerdict verdict)>;

  static constexpr int kWorkers = 4;
  static constexpr size_t kMaxQueued = 8192;

  // `ca_file`: CA certificates (PEM) for peers that advertise an https://
  // address (--tls-ca); empty: the system's store.
  OpinionClient(PeersFn peers, DeliverFn deliver, std::string tokens_file,
                std::string ca_file = "");
  ~OpinionClient() override;  // Stop()s

  void Start();
  // Joins the workers; questions still queued get no verdict (the engine's
  // own deadline covers them).
  void Stop();

  bool Ask(const OpinionRequest& request) override;

  // {"requests", "requestFailures", "questions", "queued"} for /sys/status.
  nlohmann::json StatsJson() const;

 private:
  struct Question;
  struct Task {
    std::shared_ptr<Question> question;
    std::string peer;
  };
  void Work();
  void Send(const std::string& peer, std::vector<Task> batch);
  std::string Token();

  const PeersFn peers_;
  const DeliverFn deliver_;
  const std::string tokens_file_;
  const std::string ca_file_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;       // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;

  std::mutex token_mu_;
  std::string token_;                               // GUARDED_BY(token_mu_)
  std::chrono::steady_clock::time_point token_at_;  // GUARDED_BY(token_mu_)
  bool token_read_ = false;                         // GUARDED_BY(token_mu_)

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> request_failures_{0};
  std::atomic<uint64_t> questions_{0};
};

}  // namespace jcm
