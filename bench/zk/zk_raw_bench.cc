// jcm-bench-zk-raw: raw asynchronous ZooKeeper setData throughput, the
// ceiling that jcm's registrations are compared against. Keeps `inflight`
// zoo_aset calls outstanding on one session, each writing `value-bytes`
// bytes to one of `znodes` znodes, until `count` completed or `seconds`
// passed, and prints one line of figures.
//
// Usage: jcm-bench-zk-raw --zk 127.0.0.1:2181 [--count 200000] [--seconds 10]
//        [--inflight 1000] [--value-bytes 1024] [--znodes 64] [--root /bench-raw]
#include <zookeeper/zookeeper.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string zk = "127.0.0.1:2181";
  long count = 200000;
  double seconds = 10;
  int inflight = 1000;
  int value_bytes = 1024;
  int znodes = 64;
  std::string root = "/bench-raw";
};

// Shared between the issuing thread and the client library's completion
// thread: a counting window of outstanding requests.
struct Window {
  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;
  long completed = 0;
  long failed = 0;
  int first_error = ZOK;
};

void OnSet(int rc, const Stat*, const void* data) {
  auto* w = static_cast<Window*>(const_cast<void*>(data));
  std::lock_guard<std::mutex> lock(w->mu);
  --w->outstanding;
  if (rc == ZOK) {
    ++w->completed;
  } else {
    ++w->failed;
    if (w->first_error == ZOK) w->first_error = rc;
  }
  w->cv.notify_one();
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--zk")
      o->zk = next();
    else if (a == "--count")
      o->count = std::atol(next());
    else if (a == "--seconds")
      o->seconds = std::atof(next());
    else if (a == "--inflight")
      o->inflight = std::atoi(next());
    else if (a == "--value-bytes")
      o->value_bytes = std::atoi(next());
    else if (a == "--znodes")
      o->znodes = std::atoi(next());
    else if (a == "--root")
      o->root = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return false;
    }
  }
  return o->count > 0 && o->inflight > 0 && o->value_bytes > 0 && o->znodes > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: jcm-bench-zk-raw --zk HOST:PORT [--count N] [--seconds S] "
                 "[--inflight N] [--value-bytes N] [--znodes N] [--root PATH]\n");
    return 2;
  }
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t* zh = zookeeper_init(o.zk.c_str(), nullptr, 10000, nullptr, nullptr, 0);
  if (zh == nullptr) {
    std::perror("zookeeper_init");
    return 1;
  }
  // As jcm-server's ZkClient sets it, so both pay the same client costs.
  zoo_set_servers_resolution_delay(zh, 30000);
  auto connect_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (zoo_state(zh) != ZOO_CONNECTED_STATE) {
    if (std::chrono::steady_clock::now() > connect_deadline) {
      std::fprintf(stderr, "not connected to %s\n", o.zk.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string value(static_cast<size_t>(o.value_bytes), 'x');
  std::vector<std::string> paths;
  int rc = zoo_create(zh, o.root.c_str(), nullptr, -1, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
  if (rc != ZOK && rc != ZNODEEXISTS) {
    std::fprintf(stderr, "create %s: %s\n", o.root.c_str(), zerror(rc));
    return 1;
  }
  for (int i = 0; i < o.znodes; ++i) {
    paths.push_back(o.root + "/n" + std::to_string(i));
    rc = zoo_create(zh, paths.back().c_str(), value.data(), o.value_bytes, &ZOO_OPEN_ACL_UNSAFE, 0,
                    nullptr, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) {
      std::fprintf(stderr, "create %s: %s\n", paths.back().c_str(), zerror(rc));
      return 1;
    }
  }

  Window w;
  long issued = 0;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(o.seconds));
  while (issued < o.count && std::chrono::steady_clock::now() < deadline) {
    {
      std::unique_lock<std::mutex> lock(w.mu);
      w.cv.wait(lock, [&] { return w.outstanding < o.inflight; });
      if (w.failed > 0) break;
      ++w.outstanding;
    }
    const std::string& path = paths[static_cast<size_t>(issued % o.znodes)];
    rc = zoo_aset(zh, path.c_str(), value.data(), o.value_bytes, -1, OnSet, &w);
    if (rc != ZOK) {
      std::lock_guard<std::mutex> lock(w.mu);
      --w.outstanding;
      ++w.failed;
      if (w.first_error == ZOK) w.first_error = rc;
      break;
    }
    ++issued;
  }
  {
    std::unique_lock<std::mutex> lock(w.mu);
    w.cv.wait_for(lock, std::chrono::seconds(30), [&] { return w.outstanding == 0; });
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long completed, failed;
  int first_error;
  {
    std::lock_guard<std::mutex> lock(w.mu);
    completed = w.completed;
    failed = w.failed;
    first_error = w.first_error;
  }
  zookeeper_close(zh);
  std::printf(
      "zk_raw_aset completed=%ld failed=%ld seconds=%.3f ops_per_s=%.0f inflight=%d "
      "value_bytes=%d znodes=%d%s%s\n",
      completed, failed, elapsed, completed / elapsed, o.inflight, o.value_bytes, o.znodes,
      failed > 0 ? " first_error=" : "", failed > 0 ? zerror(first_error) : "");
  return failed > 0 ? 1 : 0;
}
