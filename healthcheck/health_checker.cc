#include "healthcheck/health_checker.h"

#include <curl/curl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "healthcheck/check_engine.h"
#include "healthcheck/http_prober.h"
#include "healthcheck/native_http_prober.h"
#include "healthcheck/poller.h"
#include "healthcheck/socket_address.h"
#include "healthcheck/tcp_prober.h"

namespace jcm {

int RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? std::numeric_limits<int>::max()
                                      : static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 30));
}

namespace {

int SoftFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  return rl.rlim_cur == RLIM_INFINITY ? (1 << 30)
                                      : static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 30));
}

// The loop's ProbeListener: the probers are built before the engine, so
// they talk to it through this forwarder.
class ListenerProxy : public ProbeListener {
 public:
  void OnProbeResult(uint32_t target, CheckOutcome outcome) override {
    if (engine) engine->OnProbeResult(target, outcome);
  }
  CheckEngine* engine = nullptr;
};

class WakeHandler : public FdHandler {
 public:
  void OnFdEvent(int fd, uint32_t) override {
    uint64_t v;
    while (read(fd, &v, sizeof(v)) > 0) {
    }
  }
};

}  // namespace

struct HealthChecker::Loop {
  // Declaration order is destruction order reversed: the engine goes first
  // (it removes its targets from the probers), the poller last (the probers
  // unwatch their sockets in it).
  Poller poller;
  WakeHandler wake;
  ListenerProxy proxy;
  // One of the two HTTP probers, as HealthOptions::http_prober says.
  std::unique_ptr<Prober> http;
  std::unique_ptr<TcpProber> tcp;
  std::unique_ptr<CheckEngine> engine;
};

HealthChecker::HealthChecker(HealthOptions options, StatusSink* sink, Clock* clock)
    : options_(std::move(options)),
      sink_(sink),
      clock_(clock),
      write_cache_(options_.write_cache) {}

HealthChecker::~HealthChecker() { Stop(); }

Status HealthChecker::Start() {
  if (thread_.joinable()) return Status::Conflict("health checker already started");
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  const int limit = SoftFileLimit();
  const int reserve = options_.fd_reserve >= 0 ? options_.fd_reserve : std::max(512, limit / 10);
  const int budget =
      options_.max_keepalive >= 0 ? options_.max_keepalive : std::max(0, limit - reserve);
  keepalive_budget_ = budget;

  SourceAddress source;
  if (!ParseSourceAddress(options_.source_ip, &source)) {
    return Status::InvalidArgument("--check-source-ip: '" + options_.source_ip +
                                   "' is not an IP address");
  }
  if (source.set()) {
    // Refuse at start an address this host does not have, rather than fail
    // every check later.
    const int fd = socket(source.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool bound = fd >= 0 && BindSource(fd, source, source.family());
    const int err = errno;
    if (fd >= 0) close(fd);
    if (!bound) {
      return Status::InvalidArgument("--check-source-ip: cannot bind '" + options_.source_ip +
                                     "': " + std::strerror(err));
    }
  }

  auto loop = std::make_unique<Loop>();
  Status s = loop->poller.Init();
  if (!s.ok()) return s;
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::Internal(std::string("eventfd: ") + std::strerror(errno));
  loop->poller.Watch(wake_fd_, EPOLLIN, &loop->wake);
  if (options_.http_prober == HttpProberKind::kNative) {
    auto native = std::make_unique<NativeHttpProber>(&loop->poller, &loop->proxy, clock_);
    native->SetSource(source);
    loop->http = std::move(native);
  } else {
    auto curl = std::make_unique<HttpProber>(&loop->poller, &loop->proxy,
                                             std::max(1, options_.multi_handles), clock_);
    curl->SetSourceIp(options_.source_ip);
    loop->http = std::move(curl);
  }
  loop->tcp = std::make_unique<TcpProber>(&loop->poller, &loop->proxy, clock_);
  loop->tcp->SetSource(source);
  loop->engine = std::make_unique<CheckEngine>(options_, budget, loop->http.get(), loop->tcp.get(),
                                               &writer_, &counters_, clock_);
  loop->engine->SetTransitionLog(&transitions_);
  loop->engine->SetOpinionSource(opinions_);
  loop->proxy.engine = loop->engine.get();
  loop_ = std::move(loop);
  stop_ = false;
  writer_.Start();
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = true;
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void HealthChecker::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
  }
  stop_ = true;
  Wake();
  thread_.join();
  // The loop is gone, so nothing is queued any more.
  writer_.Stop();
  std::vector<ProbeAsk> asks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    asks.swap(probe_asks_);
  }
  for (ProbeAsk& a : asks) a.done(std::nullopt);
  // Engine first: it hands its targets back to the probers.
  loop_->engine.reset();
  loop_->tcp.reset();
  loop_->http.reset();
  loop_.reset();
  close(wake_fd_);
  wake_fd_ = -1;
}

void HealthChecker::SetClusters(std::vector<std::shared_ptr<const Cluster>> owned) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = std::move(owned);
  }
  Wake();
}

void HealthChecker::DeliverOpinion(uint64_t id, OpinionVerdict verdict) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    verdicts_.emplace_back(id, verdict);
  }
  Wake();
}

void HealthChecker::ProbeOnce(std::shared_ptr<const Cluster> cluster, std::string spec,
                              CheckEngine::OneShotDone done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Stopped or not started: nobody would run it.
    if (accepting_) {
      probe_asks_.push_back(ProbeAsk{std::move(cluster), std::move(spec), std::move(done)});
      done = nullptr;
    }
  }
  if (done) {
    done(std::nullopt);
    return;
  }
  Wake();
}

std::vector<std::string> HealthChecker::Suspects() const {
  std::lock_guard<std::mutex> lock(mu_);
  return suspects_;
}

void HealthChecker::SetWriteCache(bool enabled) {
  write_cache_ = enabled;
  Wake();
}

void HealthChecker::Wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  // A full counter still wakes the loop; nothing to do on failure.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

void HealthChecker::Run() {
  Loop& l = *loop_;
  int64_t rate_start = clock_->MonoMs();
  uint64_t rate_checks = counters_.checks.load(std::memory_order_relaxed);
  // A turn longer than this since the last dispatch of socket events reads
  // sockets again before running timers.
  constexpr int64_t kStallReadMs = 5;
  // A turn or a wait this much longer than asked is a stall of the loop:
  // timeouts of checks that spanned it are voided (CheckEngine::NoteStall).
  constexpr int64_t kStallMs = 100;
  int64_t last_wait_end = rate_start;
  while (!stop_.load(std::memory_order_relaxed)) {
    std::optional<std::vector<std::shared_ptr<const Cluster>>> pending;
    std::vector<std::pair<uint64_t, OpinionVerdict>> verdicts;
    std::vector<ProbeAsk> asks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending.swap(pending_);
      verdicts.swap(verdicts_);
      asks.swap(probe_asks_);
    }
    l.engine->SetWriteCache(write_cache_.load(std::memory_order_relaxed));
    if (pending) l.engine->SetClusters(*pending);
    for (const auto& [id, verdict] : verdicts) l.engine->OnOpinion(id, verdict);
    for (ProbeAsk& a : asks) l.engine->ProbeOnce(*a.cluster, a.spec, std::move(a.done));

    l.engine->Poll();
    int64_t now = clock_->MonoMs();
    if (now - last_wait_end > kStallReadMs) {
      // This turn ran long: answers may be waiting in socket buffers. Read
      // them before the timers expire their checks.
      if (l.poller.Wait(0) < 0) break;
      now = clock_->MonoMs();
    }
    if (now - last_wait_end > kStallMs) {
      // This turn ran far longer than a turn should: checks that time out
      // now may have timed us.
      counters_.loop_stalls.fetch_add(1, std::memory_order_relaxed);
      l.engine->NoteStall(now, now - last_wait_end);
    }
    l.tcp->RunTimers(now);
    l.http->RunTimers(now);

    now = clock_->MonoMs();
    if (now - rate_start >= 1000) {
      const uint64_t checks = counters_.checks.load(std::memory_order_relaxed);
      counters_.checks_per_sec.store((checks - rate_checks) * 1000 / (now - rate_start),
                                     std::memory_order_relaxed);
      rate_start = now;
      rate_checks = checks;
      // The suspect list for /sys/status, refreshed with the rate gauge.
      std::vector<std::string> suspects;
      if (counters_.suspect_nodes.load(std::memory_order_relaxed) > 0) {
        suspects = l.engine->Suspects(kMaxSuspectsShown);
      }
      std::lock_guard<std::mutex> lock(mu_);
      suspects_.swap(suspects);
    }
    const int64_t next =
        std::min({l.engine->NextDueMs(), l.tcp->NextTimerMs(), l.http->NextTimerMs()});
    // Wake at least every second to refresh the rate gauge.
    const int64_t wait = std::clamp<int64_t>(next - now, 0, 1000);
    const int64_t wait_start = clock_->MonoMs();
    if (l.poller.Wait(static_cast<int>(wait)) < 0) break;
    const int64_t wait_end = clock_->MonoMs();
    if (wait_end - wait_start > wait + kStallMs) {
      counters_.loop_stalls.fetch_add(1, std::memory_order_relaxed);
      l.engine->NoteStall(wait_end, wait_end - wait_start - wait);
    }
    last_wait_end = wait_end;
  }
}

}  // namespace jcm
