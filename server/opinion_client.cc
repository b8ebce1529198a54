#include "server/opinion_client.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/peer_probe.h"

namespace jcm {

struct OpinionClient::Question {
  OpinionRequest request;
  std::chrono::steady_clock::time_point deadline;
  std::mutex mu;
  int remaining = 0;      // peers yet to answer
  bool answered = false;  // some peer answered (reachable or not)
  bool delivered = false;
};

OpinionClient::OpinionClient(PeersFn peers, DeliverFn deliver, std::string tokens_file,
                             std::string ca_file)
    : peers_(std::move(peers)),
      deliver_(std::move(deliver)),
      tokens_file_(std::move(tokens_file)),
      ca_file_(std::move(ca_file)) {}

OpinionClient::~OpinionClient() { Stop(); }

void OpinionClient::Start() {
  std::lock_guard lock(mu_);
  stop_ = false;
  for (int i = 0; i < kWorkers; ++i) workers_.emplace_back([this] { Work(); });
}

void OpinionClient::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

bool OpinionClient::Ask(const OpinionRequest& request) {
  std::vector<std::string> peers = peers_(request.cluster, static_cast<size_t>(request.peers));
  if (peers.empty()) return false;
  auto q = std::make_shared<Question>();
  q->request = request;
  q->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(request.timeout_ms);
  q->remaining = static_cast<int>(peers.size());
  {
    std::lock_guard lock(mu_);
    if (stop_ || workers_.empty() || queue_.size() + peers.size() > kMaxQueued) return false;
    for (std::string& p : peers) queue_.push_back(Task{q, std::move(p)});
  }
  questions_.fetch_add(1, std::memory_order_relaxed);
  cv_.notify_all();
  return true;
}

void OpinionClient::Work() {
  for (;;) {
    std::vector<Task> batch;
    std::string peer;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      peer = queue_.front().peer;
      // Every question queued for this peer goes in one request.
      for (auto it = queue_.begin(); it != queue_.end() && batch.size() < kMaxPeerProbes;) {
        if (it->peer == peer) {
          batch.push_back(std::move(*it));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
    }
    Send(peer, std::move(batch));
  }
}

std::string OpinionClient::Token() {
  if (tokens_file_.empty()) return {};
  std::lock_guard lock(token_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (token_read_ && now - token_at_ < std::chrono::seconds(5)) return token_;
  token_read_ = true;
  token_at_ = now;
  std::ifstream in(tokens_file_);
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string role, token;
    if (fields >> role >> token && role == "write") {
      found = token;
      break;
    }
  }
  if (found.empty() && !in.is_open()) {
    spdlog::warn("event=opinion_token_unreadable file={}", tokens_file_);
  }
  token_ = found;
  return token_;
}

void OpinionClient::Send(const std::string& peer, std::vector<Task> batch) {
  // The request may wait as long as the latest question in it may.
  auto deadline = std::chrono::steady_clock::now();
  nlohmann::json probes = nlohmann::json::array();
  for (const Task& t : batch) {
    deadline = std::max(deadline, t.question->deadline);
    probes.push_back(
        {{"cluster", t.question->request.cluster}, {"node", t.question->request.spec}});
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  std::vector<int> reached(batch.size(), -1);  // -1 no answer, 0 not reached, 1 reached
  if (left.count() > 0) {
    httplib::Client client(peer);
    if (peer.rfind("https://", 0) == 0) {  // a peer advertising TLS: verified
      client.enable_server_certificate_verification(true);
      if (!ca_file_.empty()) client.set_ca_cert_path(ca_file_);
    }
    client.set_connection_timeout(left);
    client.set_read_timeout(left);
    client.set_write_timeout(left);
    client.set_tcp_nodelay(true);
    httplib::Headers headers;
    const std::string token = Token();
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    requests_.fetch_add(1, std::memory_order_relaxed);
    const std::string body = nlohmann::json{{"probes", std::move(probes)}}.dump();
    httplib::Result res = client.Post("/sys/probe", headers, body, "application/json");
    nlohmann::json answer;
    if (res && res->status == 200) {
      answer = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    }
    const nlohmann::json* results = nullptr;
    if (answer.is_object() && answer.contains("data") && answer["data"].is_object()) {
      results = &answer["data"]["results"];
    } else if (answer.is_object() && answer.contains("results")) {
      results = &answer["results"];
    }
    if (results && results->is_array() && results->size() == batch.size()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        const nlohmann::json& r = (*results)[i];
        const std::string outcome = r.is_object() ? r.value("outcome", "unknown") : "unknown";
        // "unknown": the peer could not check it (no such node there yet,
        // busy): no evidence either way.
        if (outcome != "unknown") reached[i] = outcome == "success" ? 1 : 0;
      }
    } else {
      request_failures_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("event=opinion_request_failed peer={} probes={} error=\"{}\"", peer,
                   batch.size(),
                   res ? "HTTP " + std::to_string(res->status) : httplib::to_string(res.error()));
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    Question& q = *batch[i].question;
    std::optional<OpinionVerdict> verdict;
    {
      std::lock_guard lock(q.mu);
      if (q.delivered) continue;
      --q.remaining;
      if (reached[i] >= 0) q.answered = true;
      if (reached[i] == 1) {
        verdict = OpinionVerdict::kReachable;
      } else if (q.remaining == 0) {
        verdict = q.answered ? OpinionVerdict::kUnreachable : OpinionVerdict::kNoAnswer;
      }
      if (verdict) q.delivered = true;
    }
    if (verdict) deliver_(q.request.id, *verdict);
  }
}

nlohmann::json OpinionClient::StatsJson() const {
  size_t queued;
  {
    std::lock_guard lock(mu_);
    queued = queue_.size();
  }
  return {{"requests", requests_.load()},
          {"requestFailures", request_failures_.load()},
          {"questions", questions_.load()},
          {"queued", queued}};
}

}  // namespace jcm
