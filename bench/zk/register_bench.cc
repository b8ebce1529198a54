// jcm-bench-register: node registrations per second through one jcm-server
// instance (run.sh points it at a follower, so every write is forwarded to
// the leader and waited for locally, as a client would see it), at steady
// state on a cluster of a fixed size.
//
// 1. Pre-fill: cluster `prefix` with `nodes` nodes (checkType NONE, so no
//    health checks run), in chunks of 1,000.
// 2. Load: `threads` keep-alive clients; half add one new node per request
//    (POST /c/node/{name}), half remove one node per request (DELETE
//    /c/node/{name}, pre-filled nodes first, then added ones), so the
//    cluster keeps its size. `warmup` seconds unmeasured, then `seconds`
//    measured.
// 3. Visibility: a probe adds one node every `probe-ms` (through the same
//    instance) and long-polls every instance in `all` (POST /sub), all at
//    once, until it serves a version at least the ack's; the time from
//    sending the probe to seeing it, per instance, gives p50/p99. The same
//    from the ack
//    (vis_ack_*): how long a write the leader committed takes to reach every
//    instance, without the queueing behind other writes that the time from
//    sending includes.
// 4. Over the measured window: batches (ZooKeeper writes) from the
//    leader's /sys/status, registrations per batch, and the leader's
//    mutation calls per batch (merged forwards count once); CPU seconds of
//    `pids` (the three jcm-servers and ZooKeeper, from /proc) per
//    registration, summed and each pid's own.
// 5. Afterwards: every acknowledged add that no remove took is present on
//    every instance.
//
// Usage: jcm-bench-register --target HOST:PORT --all H:P,H:P,H:P
//        [--threads 64] [--nodes 2000] [--seconds 10] [--warmup 3]
//        [--probe-ms 200] [--delta 1] [--pids 1,2,3] [--prefix bench]
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/malloc_tuning.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string target = "127.0.0.1:8601";
  std::vector<std::string> all;
  int threads = 64;
  long nodes = 2000;
  double seconds = 10;
  double warmup = 3;
  int probe_ms = 200;
  bool delta = true;  // the probe asks for RESP_DELTA replies
  std::vector<int> pids;
  std::string prefix = "bench";
};

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--target") {
      o->target = next();
    } else if (a == "--all") {
      o->all = Split(next());
    } else if (a == "--threads") {
      o->threads = std::atoi(next().c_str());
    } else if (a == "--nodes") {
      o->nodes = std::atol(next().c_str());
    } else if (a == "--seconds") {
      o->seconds = std::atof(next().c_str());
    } else if (a == "--warmup") {
      o->warmup = std::atof(next().c_str());
    } else if (a == "--probe-ms") {
      o->probe_ms = std::atoi(next().c_str());
    } else if (a == "--delta") {
      o->delta = std::atoi(next().c_str()) != 0;
    } else if (a == "--pids") {
      for (const std::string& p : Split(next())) o->pids.push_back(std::atoi(p.c_str()));
    } else if (a == "--prefix") {
      o->prefix = next();
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return false;
    }
  }
  if (o->all.empty()) o->all.push_back(o->target);
  return o->threads >= 2 && o->nodes >= o->threads && o->seconds > 0 && o->probe_ms > 0;
}

std::unique_ptr<httplib::Client> Connect(const std::string& target) {
  auto colon = target.rfind(':');
  auto c = std::make_unique<httplib::Client>(target.substr(0, colon),
                                             std::atoi(target.substr(colon + 1).c_str()));
  c->set_tcp_nodelay(true);
  c->set_keep_alive(true);
  c->set_connection_timeout(std::chrono::seconds(5));
  c->set_read_timeout(std::chrono::seconds(30));
  c->set_write_timeout(std::chrono::seconds(30));
  return c;
}

// 10.a.b.c from a node number: distinct nodes, never contacted.
std::string IpOf(long i) {
  return "10." + std::to_string((i >> 16) & 0xff) + "." + std::to_string((i >> 8) & 0xff) + "." +
         std::to_string(i & 0xff);
}
std::string SpecOf(long i) { return IpOf(i) + "|HTTP:8080"; }
nlohmann::json NodeOf(long i) {
  return {{"ip", IpOf(i)}, {"protos", {{{"port", 8080}, {"proto", "HTTP"}}}}, {"online", "ONLINE"}};
}

// What the probe holds of the cluster on one instance, as a subscriber
// would: the versions it last received, and how it received them.
struct Held {
  int64_t version = 0;
  int64_t status_version = 0;
  uint64_t delta_replies = 0;  // RESP_DELTA: the changed nodes only
  uint64_t full_replies = 0;   // RESP_UPDATE: the whole cluster
};

// The integer after the last `key` in `body`, or -1.
int64_t LastInt(const std::string& body, const char* key) {
  size_t at = body.rfind(key);
  return at == std::string::npos ? -1 : std::atoll(body.c_str() + at + std::strlen(key));
}

// Waits until `c` serves a version of `name` at least `want`, in /sub long
// polls (extended form), as libjcm-subscriber does. A RESP_NOCHANGE answer
// is a few bytes. With `delta` the probe asks from what it holds and gets
// the changed nodes of each newer version (RESP_DELTA) until it holds
// `want`; without, it asks from `want` - 1 and gets the whole cluster once,
// when the instance holds `want`. (A tight loop of GET /c/{name} moved the
// whole cluster per poll: at 20,000 nodes ~2.5 MB every half millisecond,
// which loaded the very instances being measured.) Returns false if
// `give_up` passes first.
bool AwaitVersion(httplib::Client* c, const std::string& name, int64_t want, bool delta, Held* held,
                  Clock::time_point give_up) {
  while (Clock::now() < give_up) {
    nlohmann::json unit = {{"name", name}, {"version", want - 1}, {"statusVersion", 1LL << 60}};
    if (delta && held->version > 0) {
      unit = {{"name", name}, {"version", held->version}, {"statusVersion", held->status_version}};
    }
    nlohmann::json req = {{"tag", "jcm-bench-register-probe"},
                          {"ext", 1},
                          {"delta", delta ? 1 : 0},
                          {"waitMs", 1000},
                          {"units", nlohmann::json::array({unit})}};
    auto r = c->Post("/sub", req.dump(), "application/json");
    if (!r || r->status != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    const bool is_delta = r->body.find("\"RESP_DELTA\"") != std::string::npos;
    if (!is_delta && r->body.find("\"RESP_UPDATE\"") == std::string::npos) continue;
    ++(is_delta ? held->delta_replies : held->full_replies);
    // The cluster's keys are sorted and end with "statusVersion",
    // "version"; the unit's own keys after it ("kind", "name") hold no
    // version: no JSON parse.
    held->version = LastInt(r->body, "\"version\":");
    held->status_version = LastInt(r->body, "\"statusVersion\":");
    if (held->version >= want) return true;
  }
  return false;
}

// The specs `target` serves for cluster `name`.
std::set<std::string> SpecsOn(const std::string& target, const std::string& name) {
  std::set<std::string> out;
  auto c = Connect(target);
  auto r = c->Get("/c/" + name);
  if (!r || r->status != 200) return out;
  auto doc = nlohmann::json::parse(r->body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("data") || !doc["data"].contains("nodes")) return out;
  for (const auto& n : doc["data"]["nodes"]) {
    if (n.contains("ip")) out.insert(n["ip"].get<std::string>() + "|HTTP:8080");
  }
  return out;
}

double CpuSeconds(const std::vector<int>& pids) {
  double total = 0;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (int pid : pids) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(f, line);
    size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(line.substr(paren + 2));
    std::string field;
    // Fields after the name start at 3 (state); utime is 14, stime 15.
    unsigned long long utime = 0, stime = 0;
    for (int k = 3; k <= 15 && rest >> field; ++k) {
      if (k == 14) utime = std::stoull(field);
      if (k == 15) stime = std::stoull(field);
    }
    total += static_cast<double>(utime + stime) / tick;
  }
  return total;
}

struct WriteCounters {
  uint64_t batches = 0, mutations = 0;
};
WriteCounters LeaderWrites(const std::vector<std::string>& all) {
  for (const std::string& a : all) {
    auto c = Connect(a);
    auto r = c->Get("/sys/status");
    if (!r || r->status != 200) continue;
    auto doc = nlohmann::json::parse(r->body, nullptr, false);
    if (doc.is_discarded()) continue;
    const auto& d = doc.contains("data") ? doc["data"] : doc;
    if (!d.value("isLeader", false) || !d.contains("writes")) continue;
    return {d["writes"].value("batches", uint64_t{0}),
            d["writes"].value("mutationsBatched", uint64_t{0})};
  }
  return {};
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  // As jcm-server does, and as an application reading large clusters
  // should: the probe reads each version of a 20,000-node cluster, 1.3 MB
  // per instance. Left to glibc's defaults, each reply went into freshly
  // mmap()ed pages, and on this 2-vCPU guest their page faults took ~20 ms
  // per reply (perf: 30 % of the client in faults inside memmove), which
  // the visibility figure counted as the servers'.
  jcm::TuneMallocForLargeClusters();
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: jcm-bench-register --target HOST:PORT --all H:P,... [--threads N>=2] "
                 "[--nodes N>=threads] [--seconds S] [--warmup S] [--probe-ms MS] [--delta 0|1] "
                 "[--pids P,...] "
                 "[--prefix NAME]\n");
    return 2;
  }
  const std::string name = o.prefix;
  auto admin = Connect(o.target);
  // 1. Pre-fill.
  for (long done = 0; done < o.nodes;) {
    long chunk = std::min(1000L, o.nodes - done);
    nlohmann::json nodes = nlohmann::json::array();
    for (long i = done; i < done + chunk; ++i) nodes.push_back(NodeOf(i));
    nlohmann::json doc = {{"name", name},
                          {"online", "ONLINE"},
                          {"checkType", "NONE"},
                          {"checkFile", "/"},
                          {"nodes", nodes}};
    httplib::Result r = done == 0
                            ? admin->Post("/c", doc.dump(), "application/json")
                            : admin->Post("/c/node/" + name, nodes.dump(), "application/json");
    if (!r || r->status != 200) {
      std::fprintf(
          stderr, "pre-fill of %s failed at %ld: %s\n", name.c_str(), done,
          r ? (std::to_string(r->status) + " " + r->body.substr(0, 200)).c_str() : "no answer");
      return 1;
    }
    done += chunk;
  }

  // 2. Load.
  std::mutex mu;
  std::deque<long> removable;  // GUARDED_BY(mu): present, not yet taken by a remover
  for (long i = 0; i < o.nodes; ++i) removable.push_back(i);
  std::atomic<long> next_id{o.nodes + 1000};
  std::atomic<bool> measuring{false}, stop{false};
  std::atomic<long> adds{0}, removes{0}, failed{0};
  std::vector<double> add_ms;  // GUARDED_BY(mu), measured window only
  std::string first_error;     // GUARDED_BY(mu)
  auto note_error = [&](const httplib::Result& r) {
    ++failed;
    std::lock_guard lock(mu);
    if (first_error.empty()) {
      first_error = r ? std::to_string(r->status) + " " + r->body.substr(0, 200) : "no answer";
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    const bool adder = t % 2 == 0;
    threads.emplace_back([&, adder] {
      auto client = Connect(o.target);
      std::vector<double> mine;
      while (!stop.load()) {
        if (adder) {
          long id = next_id++;
          nlohmann::json body = nlohmann::json::array({NodeOf(id)});
          auto t0 = Clock::now();
          auto r = client->Post("/c/node/" + name, body.dump(), "application/json");
          if (r && r->status == 200) {
            if (measuring.load()) {
              ++adds;
              mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            }
            std::lock_guard lock(mu);
            removable.push_back(id);
          } else {
            note_error(r);
          }
        } else {
          long id;
          {
            std::lock_guard lock(mu);
            if (removable.size() <= static_cast<size_t>(o.nodes) / 2) {
              id = -1;  // let the adders catch up: the size stays put
            } else {
              id = removable.front();
              removable.pop_front();
            }
          }
          if (id < 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            continue;
          }
          nlohmann::json body = nlohmann::json::array({SpecOf(id)});
          auto r = client->Delete("/c/node/" + name, body.dump(), "application/json");
          if (r && r->status == 200) {
            if (measuring.load()) ++removes;
          } else {
            note_error(r);
          }
        }
      }
      std::lock_guard lock(mu);
      add_ms.insert(add_ms.end(), mine.begin(), mine.end());
    });
  }

  // 3. Visibility probe.
  std::vector<std::vector<double>> visible_ms(o.all.size());  // probe thread only
  // Per instance, from the ack. The instance that took the write holds it
  // at the ack (read-your-writes): its figure is what the probe's /sub
  // reply itself takes, the floor of every instance's.
  std::vector<std::vector<double>> visible_from_ack_ms(o.all.size());  // probe thread only
  std::vector<long> probe_ids;
  std::vector<Held> held;  // per instance; probe thread only until it is joined
  std::thread probe([&] {
    auto writer = Connect(o.target);
    std::vector<std::unique_ptr<httplib::Client>> readers;
    for (const std::string& a : o.all) readers.push_back(Connect(a));
    held.resize(readers.size());
    while (!stop.load()) {
      auto next_probe = Clock::now() + std::chrono::milliseconds(o.probe_ms);
      long id = next_id++;
      nlohmann::json body = nlohmann::json::array({NodeOf(id)});
      auto t0 = Clock::now();
      auto r = writer->Post("/c/node/" + name, body.dump(), "application/json");
      if (!r || r->status != 200) {
        note_error(r);
      } else {
        auto doc = nlohmann::json::parse(r->body, nullptr, false);
        int64_t version = doc.is_discarded() ? 0 : doc["data"].value("version", int64_t{0});
        const auto acked = Clock::now();
        {
          std::lock_guard lock(mu);
          removable.push_back(id);
        }
        // Every instance is awaited at once, each on its own connection and
        // thread: awaited one after another, an instance's figure held the
        // transfers of the instances before it (at 20,000 nodes a version
        // is 1.3 MB of JSON).
        std::vector<Clock::time_point> seen(readers.size(), acked);
        std::vector<std::thread> awaits;
        for (size_t k = 0; k < readers.size() && version > 0; ++k) {
          awaits.emplace_back([&, k] {
            AwaitVersion(readers[k].get(), name, version, o.delta, &held[k],
                         Clock::now() + std::chrono::seconds(10));
            seen[k] = Clock::now();
          });
        }
        for (std::thread& t : awaits) t.join();
        if (measuring.load() && version > 0) {
          for (size_t k = 0; k < readers.size(); ++k) {
            visible_ms[k].push_back(
                std::chrono::duration<double, std::milli>(seen[k] - t0).count());
            visible_from_ack_ms[k].push_back(
                std::chrono::duration<double, std::milli>(seen[k] - acked).count());
          }
        }
      }
      std::this_thread::sleep_until(next_probe);
    }
  });

  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  WriteCounters w0 = LeaderWrites(o.all);
  double cpu0 = CpuSeconds(o.pids);
  std::vector<double> cpu0_each;  // per pid, in --pids order
  for (int pid : o.pids) cpu0_each.push_back(CpuSeconds({pid}));
  auto start = Clock::now();
  measuring = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  measuring = false;
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = CpuSeconds(o.pids) - cpu0;
  std::string cpu_each;  // ms per mutation of each pid, "/"-separated
  for (size_t k = 0; k < o.pids.size(); ++k) {
    const double ms = 1000.0 * (CpuSeconds({o.pids[k]}) - cpu0_each[k]) /
                      std::max<double>(1.0, static_cast<double>(adds + removes));
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%s%.3f", k == 0 ? "" : "/", ms);
    cpu_each += buf;
  }
  WriteCounters w1 = LeaderWrites(o.all);
  stop = true;
  for (auto& t : threads) t.join();
  probe.join();

  // 5. Every acknowledged add not taken by a remover is on every instance.
  std::set<long> expected;
  {
    std::lock_guard lock(mu);
    expected.insert(removable.begin(), removable.end());
  }
  // Let the last writes reach every instance (bounded), then compare.
  long missing = 0;
  for (const std::string& a : o.all) {
    std::set<std::string> have;
    for (int attempt = 0; attempt < 50; ++attempt) {
      have = SpecsOn(a, name);
      bool all_there = true;
      for (long id : expected) all_there = all_there && have.count(SpecOf(id));
      if (all_there) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (long id : expected) missing += have.count(SpecOf(id)) ? 0 : 1;
  }
  // Registrations per ZooKeeper write (each a group of the leader's), and
  // the leader's mutation calls per write: a follower merges node writes
  // into one request (api/leader_forwarder.h), which the leader counts once.
  const double batches = static_cast<double>(w1.batches - w0.batches);
  const double mutations = static_cast<double>(w1.mutations - w0.mutations);
  uint64_t delta_replies = 0, full_replies = 0;
  for (const Held& h : held) {
    delta_replies += h.delta_replies;
    full_replies += h.full_replies;
  }
  std::string vis;
  for (size_t k = 0; k < o.all.size(); ++k) {
    char buf[320];
    std::snprintf(buf, sizeof(buf),
                  " vis_%s_p50_ms=%.1f vis_%s_p99_ms=%.1f vis_ack_%s_p50_ms=%.1f "
                  "vis_ack_%s_p99_ms=%.1f",
                  o.all[k].c_str(), Pct(visible_ms[k], 0.5), o.all[k].c_str(),
                  Pct(visible_ms[k], 0.99), o.all[k].c_str(), Pct(visible_from_ack_ms[k], 0.5),
                  o.all[k].c_str(), Pct(visible_from_ack_ms[k], 0.99));
    vis += buf;
  }
  // Per probe: the last instance to see it.
  auto worst_of = [](const std::vector<std::vector<double>>& per_instance) {
    std::vector<double> worst;
    for (size_t i = 0; !per_instance.empty() && i < per_instance[0].size(); ++i) {
      double m = 0;
      for (const auto& v : per_instance) m = std::max(m, i < v.size() ? v[i] : 0.0);
      worst.push_back(m);
    }
    return worst;
  };
  const std::vector<double> worst = worst_of(visible_ms);
  const std::vector<double> worst_from_ack = worst_of(visible_from_ack_ms);
  std::printf(
      "jcm_register nodes=%ld threads=%d seconds=%.2f adds_per_s=%.0f removes_per_s=%.0f "
      "mutations_per_s=%.0f failed=%ld missing=%ld add_p50_ms=%.1f add_p99_ms=%.1f "
      "batches_per_s=%.1f mutations_per_batch=%.1f requests_per_batch=%.1f "
      "cpu_ms_per_mutation=%.3f "
      "cpu_ms_per_mutation_by_pid=%s "
      "vis_all_p50_ms=%.1f vis_all_p99_ms=%.1f vis_ack_all_p50_ms=%.1f vis_ack_all_p99_ms=%.1f "
      "probes=%zu probe_delta_replies=%llu probe_full_replies=%llu%s%s%s\n",
      o.nodes, o.threads, elapsed, adds.load() / elapsed, removes.load() / elapsed,
      (adds.load() + removes.load()) / elapsed, failed.load(), missing, Pct(add_ms, 0.5),
      Pct(add_ms, 0.99), batches / elapsed,
      batches > 0 ? static_cast<double>(adds + removes) / batches : 0.0,
      batches > 0 ? mutations / batches : 0.0,
      (adds + removes) > 0 ? 1000.0 * cpu / static_cast<double>(adds + removes) : 0.0,
      cpu_each.c_str(), Pct(worst, 0.5), Pct(worst, 0.99), Pct(worst_from_ack, 0.5),
      Pct(worst_from_ack, 0.99), worst.size(), static_cast<unsigned long long>(delta_replies),
      static_cast<unsigned long long>(full_replies), vis.c_str(),
      first_error.empty() ? "" : " first_error=", first_error.c_str());
  return (failed > 0 || missing > 0) ? 1 : 0;
}
