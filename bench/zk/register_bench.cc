// jcm-bench-register: node registrations per second through one jcm-server
// instance (the benchmark points it at a follower, so every write is
// forwarded to the leader and waited for locally, as a client would see
// it). `threads` clients each send POST /c/node/{cluster} with one new node
// per request over a keep-alive connection, spread over `clusters` clusters,
// until `count` were sent or `seconds` passed. At the end it reads the
// clusters back and checks every acknowledged node is there.
//
// Usage: jcm-bench-register --target 127.0.0.1:8601 [--threads 8]
//        [--count 5000] [--seconds 20] [--clusters 1] [--prefix bench]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

struct Options {
  std::string target = "127.0.0.1:8601";
  int threads = 8;
  long count = 5000;
  double seconds = 20;
  int clusters = 1;
  std::string prefix = "bench";
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--target")
      o->target = next();
    else if (a == "--threads")
      o->threads = std::atoi(next());
    else if (a == "--count")
      o->count = std::atol(next());
    else if (a == "--seconds")
      o->seconds = std::atof(next());
    else if (a == "--clusters")
      o->clusters = std::atoi(next());
    else if (a == "--prefix")
      o->prefix = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return false;
    }
  }
  return o->threads > 0 && o->count > 0 && o->clusters > 0;
}

std::unique_ptr<httplib::Client> Connect(const std::string& target) {
  auto colon = target.rfind(':');
  auto c = std::make_unique<httplib::Client>(target.substr(0, colon),
                                             std::atoi(target.substr(colon + 1).c_str()));
  c->set_tcp_nodelay(true);
  c->set_keep_alive(true);
  c->set_connection_timeout(std::chrono::seconds(5));
  c->set_read_timeout(std::chrono::seconds(15));
  c->set_write_timeout(std::chrono::seconds(15));
  return c;
}

// 10.a.b.c from a registration number: distinct nodes, never contacted
// (the clusters have checkType NONE).
std::string IpOf(long i) {
  return "10." + std::to_string((i >> 16) & 0xff) + "." + std::to_string((i >> 8) & 0xff) + "." +
         std::to_string(i & 0xff);
}

nlohmann::json NodeOf(long i) {
  return {{"ip", IpOf(i)}, {"protos", {{{"port", 8080}, {"proto", "HTTP"}}}}, {"online", "ONLINE"}};
}

std::string ClusterName(const Options& o, int k) { return o.prefix + "-" + std::to_string(k); }

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: jcm-bench-register --target HOST:PORT [--threads N] [--count N] "
                 "[--seconds S] [--clusters N] [--prefix NAME]\n");
    return 2;
  }
  // Registration numbers start past the seeds so every node is new.
  const long kSeedBase = 1L << 22;
  auto admin = Connect(o.target);
  for (int k = 0; k < o.clusters; ++k) {
    nlohmann::json doc = {{"name", ClusterName(o, k)},
                          {"online", "ONLINE"},
                          {"checkType", "NONE"},
                          {"checkFile", "/health"},
                          {"nodes", {NodeOf(kSeedBase + k)}}};
    auto r = admin->Post("/c", doc.dump(), "application/json");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "creating %s failed: %s\n", ClusterName(o, k).c_str(),
                   r ? (std::to_string(r->status) + " " + r->body).c_str() : "no answer");
      return 1;
    }
  }

  std::atomic<long> next{0};
  std::atomic<long> ok{0}, failed{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::vector<long> ok_per_cluster(static_cast<size_t>(o.clusters), 0);
  std::string first_error;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&] {
      auto client = Connect(o.target);
      std::vector<double> mine;
      std::vector<long> mine_ok(static_cast<size_t>(o.clusters), 0);
      std::string err;
      while (std::chrono::steady_clock::now() < deadline) {
        long i = next++;
        if (i >= o.count) break;
        int k = static_cast<int>(i % o.clusters);
        nlohmann::json body = nlohmann::json::array({NodeOf(i)});
        auto t0 = std::chrono::steady_clock::now();
        auto r = client->Post("/c/node/" + ClusterName(o, k), body.dump(), "application/json");
        mine.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        if (r && r->status == 200) {
          ++ok;
          ++mine_ok[static_cast<size_t>(k)];
        } else {
          ++failed;
          if (err.empty()) err = r ? std::to_string(r->status) + " " + r->body : "no answer";
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      for (size_t k = 0; k < mine_ok.size(); ++k) ok_per_cluster[k] += mine_ok[k];
      if (first_error.empty()) first_error = err;
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(
        latencies_ms.size() - 1,
        static_cast<size_t>(p * static_cast<double>(latencies_ms.size())))];
  };

  // Every acknowledged registration must be readable on the same instance.
  long missing = 0;
  for (int k = 0; k < o.clusters; ++k) {
    auto r = admin->Get("/c/" + ClusterName(o, k));
    long have = -1;
    if (r && r->status == 200) {
      auto doc = nlohmann::json::parse(r->body, nullptr, false);
      if (!doc.is_discarded() && doc.contains("data") && doc["data"].contains("nodes")) {
        have = static_cast<long>(doc["data"]["nodes"].size());
      }
    }
    long want = ok_per_cluster[static_cast<size_t>(k)] + 1;
    if (have < want) missing += want - std::max(have, 0L);
  }
  std::printf(
      "jcm_register ok=%ld failed=%ld missing=%ld seconds=%.3f ops_per_s=%.0f threads=%d "
      "clusters=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f%s%s\n",
      ok.load(), failed.load(), missing, elapsed, ok.load() / elapsed, o.threads, o.clusters,
      pct(0.50), pct(0.99), latencies_ms.empty() ? 0.0 : latencies_ms.back(),
      first_error.empty() ? "" : " first_error=", first_error.substr(0, 200).c_str());
  return (failed > 0 || missing > 0) ? 1 : 0;
}
