#include "api/api_server.h"

#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/http_server.h"
#include "api/leader_forwarder.h"
#include "api/metrics_api.h"
#include "api/metrics_page.h"
#include "api/metrics_timed_exchange.h"
#include "api/request_decoding.h"
#include "api/subscribe_handler.h"
#include "api/tls_context.h"
#include "api/ui_assets.h"
#include "model/cluster_codec.h"
#include "model/limits.h"
#include "model/validation.h"

namespace jcm {

using nlohmann::json;

namespace {

std::string JoinHostPort(const std::string& host, int port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// The rest of `path` after `prefix`, if path is longer than the prefix and
// starts with it (the "(.+)" of a route such as /c/node/{name}).
bool Suffix(const std::string& path, std::string_view prefix, std::string* rest) {
  if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  *rest = path.substr(prefix.size());
  return true;
}

// The route's {name}, validated.
Status PathName(const std::string& name) { return ValidateClusterName(name); }

}  // namespace

ApiServer::ApiServer(ApiOptions options, NameService* names)
    : options_(std::move(options)),
      names_(names),
      auth_(options_.tokens_file),
      own_metrics_(options_.metrics ? nullptr : std::make_unique<ApiMetrics>()),
      metrics_(options_.metrics ? options_.metrics : own_metrics_.get()) {}

ApiServer::~ApiServer() { Stop(); }

Status ApiServer::Start() {
  if (http_) return Status::Internal("ApiServer::Start called twice");
  if (Status s = auth_.Reload(); !s.ok()) return s;
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
    return Status::InvalidArgument("TLS needs both a certificate and a key file");
  }
  if (!options_.tls_cert_file.empty()) {
    tls_ = std::make_unique<TlsContext>(options_.tls_cert_file, options_.tls_key_file);
    if (Status s = tls_->Reload(); !s.ok()) return s;
    spdlog::info("event=tls_loaded cert=\"{}\"", tls_->Describe());
  }
  HttpServerOptions hopts;
  hopts.host = options_.host;
  hopts.port = options_.port;
  hopts.io_threads = options_.io_threads;
  hopts.max_connections = std::max<size_t>(1, options_.max_connections);
  hopts.request_deadline = options_.request_deadline;
  hopts.idle_timeout = options_.idle_timeout;
  hopts.header_limit = options_.header_limit;
  hopts.body_limit = limits::kMaxRequestBodyBytes;
  hopts.listen_backlog = options_.listen_backlog;
  hopts.tls = tls_.get();
  hopts.tls_host = options_.tls_host;
  hopts.tls_port = options_.tls_port;
  auto http = std::make_unique<HttpServer>(hopts, [this](HttpRequest req, HttpExchangePtr ex) {
    Dispatch(std::move(req), std::move(ex));
  });

  SubscribeOptions sopts;
  sopts.max_parked = options_.max_parked_long_polls;
  sopts.max_units = options_.sub_max_units;
  sopts.max_reply_bytes = options_.sub_max_reply_bytes;
  sopts.metrics = metrics_;
  sub_ = std::make_unique<SubscribeHandler>(sopts, names_, &cache_, &counters_);
  names_->SetChangeListener(
      [sub = sub_.get()](const std::string& name) { sub->OnClusterChanged(name); });
  workers_ = std::make_unique<boost::asio::thread_pool>(
      static_cast<size_t>(std::max(1, options_.worker_threads)));

  Status s = http->Start();
  if (!s.ok()) {
    names_->SetChangeListener(nullptr);
    workers_->join();
    return s;
  }
  port_ = http->port();
  tls_port_ = http->tls_port();
  self_address_ =
      options_.self_address.empty() ? JoinHostPort(options_.host, port_) : options_.self_address;
  LeaderForwarderOptions fopts;
  fopts.self_address = self_address_;
  fopts.connect_timeout = options_.forward_connect_timeout;
  fopts.read_timeout = options_.forward_read_timeout;
  fopts.apply_timeout = options_.apply_timeout;
  fopts.merge_linger = options_.forward_merge_linger;
  fopts.ca_file = options_.tls_ca_file;
  fopts.round_trip_seconds = &metrics_->forward_seconds();
  forwarder_ = std::make_unique<LeaderForwarder>(fopts, names_, &counters_);
  http_ = std::move(http);
  spdlog::info(
      "api: serving on {}{} ({} I/O threads, {} workers, at most {} connections and {} parked "
      "long polls)",
      self_address_,
      tls_port_ ? " and https on " + JoinHostPort(options_.tls_host, tls_port_) : std::string(),
      options_.io_threads, options_.worker_threads, options_.max_connections,
      options_.max_parked_long_polls);
  return Status::Ok();
}

void ApiServer::Stop() {
  if (!http_ || stopped_) return;
  stopped_ = true;
  names_->SetChangeListener(nullptr);
  sub_->Shutdown();  // parked polls answer now
  workers_->join();  // writes in hand finish and answer
  http_->Stop();     // then every connection closes
}

json ApiServer::CountersJson() const {
  json j = counters_.ToJson();
  j["maxParkedLongPolls"] = options_.max_parked_long_polls;
  j["workerThreads"] = options_.worker_threads;
  j["ioThreads"] = options_.io_threads;
  if (http_) j["http"] = http_->CountersJson();
  // Which certificate new TLS connections get (subject, expiry): what an
  // operator checks after a renewal and SIGHUP.
  if (tls_) j["tls"] = {{"port", tls_port_}, {"cert", tls_->Describe()}};
  return j;
}

void ApiServer::Send(const HttpExchangePtr& ex, ApiRoute route, HttpReply reply) {
  counters_.CountReply(route, reply.status);
  ex->Reply(std::move(reply));
}

void ApiServer::SendError(const HttpExchangePtr& ex, ApiRoute route, const Status& status) {
  counters_.CountError(status.code());
  if (HttpStatusFor(status.code()) >= 500) spdlog::warn("api: {}", status.ToString());
  HttpReply reply = ErrorReply(status);
  if (status.code() == Status::Code::kUnauthenticated) {
    reply.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  Send(ex, route, std::move(reply));
}

bool ApiServer::IsWrite(ApiRoute route) {
  switch (route) {
    case ApiRoute::kPutCluster:
    case ApiRoute::kDeleteCluster:
    case ApiRoute::kClusterOnline:
    case ApiRoute::kAddNodes:
    case ApiRoute::kRemoveNodes:
    case ApiRoute::kChangeNodes:
    case ApiRoute::kNodeOnline:
    case ApiRoute::kNsCache:
    case ApiRoute::kProbe:  // makes this instance connect out: writers only
      return true;
    default:
      return false;
  }
}

Status ApiServer::ReloadTokens() {
  Status s = auth_.Reload();
  if (s.ok()) {
    spdlog::info("event=tokens_loaded writes_guarded={}", auth_.writes_guarded());
  } else {
    spdlog::error("event=tokens_reload_failed error=\"{}\" (previous tokens stay in force)",
                  s.message());
  }
  return s;
}

Status ApiServer::ReloadTls() {
  if (!tls_) return Status::Ok();
  Status s = tls_->Reload();
  if (s.ok()) {
    spdlog::info("event=tls_loaded cert=\"{}\"", tls_->Describe());
  } else {
    spdlog::error("event=tls_reload_failed error=\"{}\" (previous certificate stays in force)",
                  s.message());
  }
  return s;
}

void ApiServer::OnWorker(HttpExchangePtr ex, ApiRoute route, Blocking work) {
  boost::asio::post(*workers_, [this, ex = std::move(ex), route, work = std::move(work)] {
    HttpReply reply;
    try {
      reply = work();
    } catch (const std::exception& e) {
      counters_.CountError(Status::Code::kInternal);
      spdlog::error("api: {} failed: {}", ToString(route), e.what());
      reply = ErrorReply(Status::Internal(std::string(ToString(route)) + ": " + e.what()));
    }
    Send(ex, route, std::move(reply));
  });
}

// Which route a request is, before anything runs: auth is decided on it.
ApiRoute ApiServer::Resolve(const HttpRequest& req, std::string* name) const {
  const std::string& m = req.method;
  const std::string& path = req.path;
  if (m == "GET") {
    if (path == "/healthz") return ApiRoute::kHealthz;
    if (path == "/readyz") return ApiRoute::kReadyz;
    if (path == "/sys/status") return ApiRoute::kSysStatus;
    if (path == "/metrics") return ApiRoute::kMetrics;
    if (path == "/c" || path == "/c/list") return ApiRoute::kListClusters;
    if (path == "/ui" || path.rfind("/ui/", 0) == 0) return ApiRoute::kUi;
    // /c/{name}/history: names hold no '/', so this cannot shadow a cluster.
    constexpr std::string_view kHistorySuffix = "/history";
    if (path.size() > kHistorySuffix.size() + 3 &&
        path.compare(path.size() - kHistorySuffix.size(), kHistorySuffix.size(), kHistorySuffix) ==
            0 &&
        Suffix(path.substr(0, path.size() - kHistorySuffix.size()), "/c/", name)) {
      return ApiRoute::kHistory;
    }
    // (.+), not ([^/]+): a name holding '/' must reach the validator and
    // get a 400 naming it, not a 404.
    if (Suffix(path, "/c/", name)) return ApiRoute::kGetCluster;
  } else if (m == "POST") {
    if (path == "/sub") return ApiRoute::kSub;
    if (path == "/c") return ApiRoute::kPutCluster;
    if (path == "/sys/nscache") return ApiRoute::kNsCache;
    if (path == "/sys/probe") return ApiRoute::kProbe;
    // More specific before less.
    if (Suffix(path, "/c/online/", name)) return ApiRoute::kClusterOnline;
    if (Suffix(path, "/c/node/online/", name)) return ApiRoute::kNodeOnline;
    if (Suffix(path, "/c/nodes/", name)) return ApiRoute::kChangeNodes;
    if (Suffix(path, "/c/node/", name)) return ApiRoute::kAddNodes;
  } else if (m == "DELETE") {
    if (Suffix(path, "/c/node/", name)) return ApiRoute::kRemoveNodes;
    if (Suffix(path, "/c/", name)) return ApiRoute::kDeleteCluster;
  }
  return ApiRoute::kNoRoute;
}

void ApiServer::Dispatch(HttpRequest req, HttpExchangePtr ex) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  std::string name;
  const ApiRoute route = Resolve(req, &name);
  // Every reply of the request, however it is answered, is timed.
  ex = std::make_shared<MetricsTimedExchange>(std::move(ex), &metrics_->request_seconds(route),
                                              req.received);
  try {
    if (route == ApiRoute::kNoRoute) {
      counters_.CountError(Status::Code::kNotFound);
      return Send(ex, route, ErrorReply(404, "no route for " + req.method + " " + req.path));
    }
    // Probes and the dashboard's files are open; the dashboard asks for a
    // token itself before it writes.
    if (route != ApiRoute::kHealthz && route != ApiRoute::kReadyz && route != ApiRoute::kUi) {
      Status allowed = auth_.Check(req.Header("Authorization"), IsWrite(route));
      if (!allowed.ok()) return SendError(ex, route, allowed);
    }
    switch (route) {
      case ApiRoute::kHealthz:
        return Send(ex, route, OkReply({{"self", self_address_}}));
      case ApiRoute::kReadyz:
        return Send(ex, route, GetReadyz());
      case ApiRoute::kSysStatus:
        return Send(ex, route, GetSysStatus());
      case ApiRoute::kMetrics:
        return Send(ex, route, GetMetrics());
      case ApiRoute::kUi:
        return Send(ex, route, GetUi(req.path));
      case ApiRoute::kListClusters:
        return Send(ex, route, GetClusters(req, req.path == "/c/list"));
      case ApiRoute::kGetCluster:
        return Send(ex, route, GetCluster(req, name));
      case ApiRoute::kHistory:
        return Send(ex, route, GetHistory(name));
      case ApiRoute::kSub:
        return PostSub(std::move(req), std::move(ex));
      case ApiRoute::kPutCluster:
        return PostCluster(std::move(req), std::move(ex));
      case ApiRoute::kNsCache:
        return PostNsCache(std::move(req), std::move(ex));
      case ApiRoute::kProbe:
        return PostProbe(std::move(req), std::move(ex));
      case ApiRoute::kClusterOnline:
        return PostClusterOnline(std::move(req), std::move(ex), std::move(name));
      case ApiRoute::kNodeOnline:
        return PostNodeOnline(std::move(req), std::move(ex), std::move(name));
      case ApiRoute::kAddNodes:
        return PostNodes(std::move(req), std::move(ex), std::move(name));
      case ApiRoute::kRemoveNodes:
        return DeleteNodes(std::move(req), std::move(ex), std::move(name));
      case ApiRoute::kChangeNodes:
        return PostNodeChanges(std::move(req), std::move(ex), std::move(name));
      case ApiRoute::kDeleteCluster:
        return DeleteCluster(std::move(req), std::move(ex), std::move(name));
      default:
        break;
    }
    SendError(ex, route, Status::Internal("route " + std::string(ToString(route)) + " not wired"));
  } catch (const std::exception& e) {
    SendError(ex, route, Status::Internal(req.method + " " + req.path + ": " + e.what()));
  }
}

// The dashboard (ui/, embedded by jcm_ui). "/ui" redirects to "/ui/" so the
// page's relative links resolve under it; every file is served with its own
// type, revalidated on each load (no-cache: a new binary may carry a new
// dashboard), sniffing off, and a CSP that allows only this origin (the
// dashboard has no inline script or style and fetches nothing elsewhere).
HttpReply ApiServer::GetUi(const std::string& path) {
  if (path == "/ui") {
    HttpReply r{301, "", "text/plain"};
    r.headers.emplace_back("Location", "/ui/");
    return r;
  }
  const UiAsset* asset = FindUiAsset(path);
  if (!asset) {
    counters_.CountError(Status::Code::kNotFound);
    return ErrorReply(Status::NotFound("no dashboard file " + QuoteForError(path)));
  }
  HttpReply r{200, std::string(asset->body), std::string(asset->content_type)};
  r.headers = {{"Cache-Control", "no-cache"},
               {"X-Content-Type-Options", "nosniff"},
               {"Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                "base-uri 'none'; form-action 'none'"},
               {"Referrer-Policy", "no-referrer"}};
  return r;
}

HttpReply ApiServer::GetHistory(const std::string& name) {
  Status s = PathName(name);
  if (s.ok() && !names_->GetCluster(name)) {
    s = Status::NotFound("cluster " + QuoteForError(name) + " not found");
  }
  if (s.ok() && !history_) s = Status::NotFound("no health history on this instance");
  if (!s.ok()) {
    counters_.CountError(s.code());
    return ErrorReply(s);
  }
  return OkReply(history_(name));
}

HttpReply ApiServer::GetReadyz() {
  Status ready = names_->Readiness();
  if (!ready.ok()) return ErrorReply(503, "not ready: " + ready.message());
  return OkReply({{"self", self_address_}, {"ready", true}});
}

HttpReply ApiServer::GetClusters(const HttpRequest& req, bool names_only) {
  if (Status ready = names_->Readiness(); !ready.ok()) {
    counters_.CountError(ready.code());
    return ErrorReply(503, "not ready: " + ready.message());
  }
  std::vector<ClusterPtr> clusters = names_->ListClusters();
  if (names_only) {
    json data = json::array();
    for (const ClusterPtr& c : clusters) data.push_back(c->name);
    return OkReply(data);
  }
  ClusterJsonForm form;
  Status s = DecodeClusterForm(req.Param("form"), &form);
  if (!s.ok()) {
    counters_.CountError(s.code());
    return ErrorReply(s);
  }
  std::string text = "[";
  for (const ClusterPtr& c : clusters) {
    if (text.size() > 1) text += ',';
    auto encoded = cache_.Get(c);
    text += form == ClusterJsonForm::kJcm ? encoded->Jcm() : encoded->Full();
  }
  text += ']';
  return OkReplyRaw(text);
}

HttpReply ApiServer::GetCluster(const HttpRequest& req, const std::string& name) {
  Status s = PathName(name);
  ClusterJsonForm form = ClusterJsonForm::kFull;
  if (s.ok()) s = DecodeClusterForm(req.Param("form"), &form);
  if (s.ok()) {
    if (Status ready = names_->Readiness(); !ready.ok()) {
      s = Status::Unavailable("not ready: " + ready.message());
    }
  }
  ClusterPtr cluster;
  if (s.ok()) {
    cluster = names_->GetCluster(name);
    if (!cluster) s = Status::NotFound("cluster " + QuoteForError(name) + " not found");
  }
  if (!s.ok()) {
    counters_.CountError(s.code());
    return ErrorReply(s);
  }
  auto encoded = cache_.Get(cluster);
  return OkReplyRaw(form == ClusterJsonForm::kJcm ? encoded->Jcm() : encoded->Full());
}

HttpReply ApiServer::GetSysStatus() { return OkReply(SysStatusJson()); }

json ApiServer::SysStatusJson() {
  json data = names_->SystemStatus();
  if (!data.is_object()) data = json{{"service", std::move(data)}};
  data["api"] = CountersJson();
  Status ready = names_->Readiness();
  data["ready"] = ready.ok();
  if (!ready.ok()) data["notReadyReason"] = ready.message();
  return data;
}

// Prometheus scrapes this (api/metrics_page.h); it answers even when not
// ready, since "not ready" is what an alert wants to see.
HttpReply ApiServer::GetMetrics() {
  std::string text = MetricsPage::Render(SysStatusJson(), names_->ListClusters(), names_->Leader(),
                                         metrics_->registry());
  return HttpReply{200, std::move(text), MetricsPage::kContentType};
}

HttpReply ApiServer::RunWrite(const HttpRequest& req, const Mutation& mutation) {
  const bool forwarded = !req.Header(kForwardedHeader).empty();
  bool retry = req.Header(kRetryHeader) == "1";
  // Only the instance the client called holds a write through a leader
  // change; one that received it forwarded answers at once, so the sender
  // can decide.
  const auto deadline = std::chrono::steady_clock::now() + options_.write_hold;
  std::optional<std::chrono::steady_clock::time_point> reconnect_deadline;
  bool held = false;
  // End to end on the instance the client called (one that received the
  // write forwarded is not: its sender times it), by where it ran last.
  bool sent_on = false;
  auto timed = [&](HttpReply reply) {
    if (!forwarded && req.received != std::chrono::steady_clock::time_point{}) {
      metrics_->write_request_seconds(sent_on).ObserveSince(req.received);
    }
    return reply;
  };
  while (true) {
    const auto start = std::chrono::steady_clock::now();
    Result<WriteAck> result = mutation(retry);
    // Timed when this instance ran the write as leader (done or refused by
    // ZooKeeper), not when it only learned it is a follower.
    if (result.ok() || result.status().code() != Status::Code::kNotLeader) {
      metrics_->write_seconds().ObserveSince(start);
    }
    sent_on = false;
    if (result.ok()) return timed(OkReplyRaw(WriteAckText(result.value())));
    Status status = result.status();
    ForwardFailure why = ForwardFailure::kFinal;
    if (status.code() == Status::Code::kNotLeader) {
      ForwardRequest forward{req.method,
                             req.target,
                             req.body,
                             req.Header(kForwardedHeader),
                             req.Header("Authorization"),
                             retry};
      sent_on = true;
      Result<HttpReply> reply = forwarder_->Forward(forward, &why);
      if (why == ForwardFailure::kNone) return timed(reply.value());
      status =
          reply.ok() ? Status::Unavailable("leadership moved during the write") : reply.status();
    }
    bool waitable = why == ForwardFailure::kNoLeader || why == ForwardFailure::kNotSent ||
                    why == ForwardFailure::kLeaderMoved || why == ForwardFailure::kOutcomeUnknown;
    if (!forwarded && waitable && std::chrono::steady_clock::now() < deadline) {
      // From now on the write may have been applied once: send it so that
      // a second application is a no-op (kRetryHeader).
      if (why == ForwardFailure::kOutcomeUnknown) retry = true;
      if (!held) counters_.writes_held.fetch_add(1, std::memory_order_relaxed);
      held = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (status.code() == Status::Code::kUnavailable && why == ForwardFailure::kFinal) {
      // This instance's own refusal: its ZooKeeper connection is lost, or
      // was lost under the write. On an ensemble the client is moving to
      // another member, in the same session: wait a moment and try again,
      // as a retry, since a multi cut off by the loss may have been applied.
      // Counted from the loss when it is known, so that with ZooKeeper gone
      // for good only the first writes wait.
      const auto now = std::chrono::steady_clock::now();
      const LeaderInfo zk = names_->Leader();
      if (!reconnect_deadline) {
        reconnect_deadline = now + options_.zk_reconnect_hold -
                             (zk.connected ? std::chrono::milliseconds(0)
                                           : std::chrono::milliseconds(zk.disconnected_ms));
      }
      if (now < *reconnect_deadline) {
        retry = true;
        if (!held) counters_.writes_held.fetch_add(1, std::memory_order_relaxed);
        held = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
    }
    counters_.CountError(status.code());
    if (HttpStatusFor(status.code()) >= 500) spdlog::warn("api: {}", status.ToString());
    HttpReply reply = ErrorReply(status);
    // Tells the instance that forwarded this write that nothing was applied
    // here, so it may wait for the new leader and send it again.
    if (status.code() == Status::Code::kNotLeader)
      reply.headers.emplace_back(kNotLeaderHeader, "1");
    return timed(std::move(reply));
  }
}

// The write routes: decode and validate on a worker (a cluster document may
// be megabytes), refuse bad input before any mutation is called.
namespace {

// The route's {name}, then its body as JSON, then `decode_body(doc)`: the
// first refusal wins.
template <typename DecodeBody>
Status NameAndBody(const std::string& name, const std::string& body, DecodeBody decode_body) {
  json doc;
  Status s = PathName(name);
  if (s.ok()) s = ParseJsonText(body, &doc);
  return s.ok() ? decode_body(doc) : s;
}

// Of `specs`, those `current` still holds: what a write sent again after an
// unknown outcome has left to remove.
std::vector<std::string> SpecsStillHeld(const Cluster& current,
                                        const std::vector<std::string>& specs) {
  std::vector<std::string> left;
  for (const std::string& spec : specs) {
    if (current.FindNode(spec)) left.push_back(spec);
  }
  return left;
}

// Runs `decode`, and on success the write; on a refusal, its error reply.
template <typename Decode, typename Write>
HttpReply DecodeThenWrite(ApiCounters* counters, Decode decode, Write write) {
  Status s = decode();
  if (!s.ok()) {
    counters->CountError(s.code());
    return ErrorReply(s);
  }
  return write();
}

}  // namespace

void ApiServer::PostCluster(HttpRequest req, HttpExchangePtr ex) {
  OnWorker(std::move(ex), ApiRoute::kPutCluster, [this, req = std::move(req)] {
    auto cluster = std::make_shared<Cluster>();
    return DecodeThenWrite(
        &counters_,
        [&] {
          json doc;
          Status s = ParseJsonText(req.body, &doc);
          return s.ok() ? DecodeCluster(doc, cluster.get()) : s;
        },
        [&] { return RunWrite(req, [&](bool) { return names_->PutCluster(*cluster); }); });
  });
}

void ApiServer::DeleteCluster(HttpRequest req, HttpExchangePtr ex, std::string name) {
  OnWorker(std::move(ex), ApiRoute::kDeleteCluster,
           [this, req = std::move(req), name = std::move(name)] {
             return DecodeThenWrite(
                 &counters_, [&] { return PathName(name); },
                 [&] {
                   return RunWrite(req, [&](bool retry) -> Result<WriteAck> {
                     Result<WriteAck> r = names_->DeleteCluster(name);
                     // Sent again after an unknown outcome: gone is done.
                     if (retry && !r.ok() && r.status().IsNotFound()) {
                       return WriteAck{name, 0, true};
                     }
                     return r;
                   });
                 });
           });
}

void ApiServer::PostClusterOnline(HttpRequest req, HttpExchangePtr ex, std::string name) {
  OnWorker(std::move(ex), ApiRoute::kClusterOnline,
           [this, req = std::move(req), name = std::move(name)] {
             bool online = false;
             return DecodeThenWrite(
                 &counters_,
                 [&] {
                   return NameAndBody(name, req.body, [&](const json& doc) {
                     return DecodeBool(doc, "body", /*allow_words=*/true, &online);
                   });
                 },
                 [&] {
                   return RunWrite(req,
                                   [&](bool) { return names_->SetClusterOnline(name, online); });
                 });
           });
}

void ApiServer::PostNodes(HttpRequest req, HttpExchangePtr ex, std::string name) {
  OnWorker(
      std::move(ex), ApiRoute::kAddNodes, [this, req = std::move(req), name = std::move(name)] {
        std::vector<Node> nodes;
        return DecodeThenWrite(
            &counters_,
            [&] {
              return NameAndBody(name, req.body,
                                 [&](const json& doc) { return DecodeNodeList(doc, &nodes); });
            },
            [&] { return RunWrite(req, [&](bool) { return names_->AddNodes(name, nodes); }); });
      });
}

void ApiServer::DeleteNodes(HttpRequest req, HttpExchangePtr ex, std::string name) {
  OnWorker(std::move(ex), ApiRoute::kRemoveNodes,
           [this, req = std::move(req), name = std::move(name)] {
             std::vector<std::string> specs;
             return DecodeThenWrite(
                 &counters_,
                 [&] {
                   return NameAndBody(name, req.body,
                                      [&](const json& doc) { return DecodeSpecList(doc, &specs); });
                 },
                 [&] {
                   return RunWrite(req, [&](bool retry) -> Result<WriteAck> {
                     Result<WriteAck> r = names_->RemoveNodes(name, specs);
                     if (!retry || r.ok() || !r.status().IsNotFound()) return r;
                     // Sent again after an unknown outcome, and a spec is
                     // gone (NotLeader would have come first: this is the
                     // leader): remove what is still there; none left means
                     // the first send did it all.
                     ClusterPtr current = names_->GetCluster(name);
                     if (!current) return r;
                     std::vector<std::string> left = SpecsStillHeld(*current, specs);
                     if (left.empty()) return WriteAck{name, current->version, false};
                     return names_->RemoveNodes(name, left);
                   });
                 });
           });
}

void ApiServer::PostNodeChanges(HttpRequest req, HttpExchangePtr ex, std::string name) {
  OnWorker(std::move(ex), ApiRoute::kChangeNodes,
           [this, req = std::move(req), name = std::move(name)] {
             std::vector<std::string> remove;
             std::vector<Node> add;
             return DecodeThenWrite(
                 &counters_,
                 [&] {
                   return NameAndBody(name, req.body, [&](const json& doc) {
                     return DecodeNodeChanges(doc, &remove, &add);
                   });
                 },
                 [&] {
                   return RunWrite(req, [&](bool retry) -> Result<WriteAck> {
                     Result<WriteAck> r = names_->ChangeNodes(name, remove, add);
                     if (!retry || r.ok() || !r.status().IsNotFound()) return r;
                     // Sent again after an unknown outcome, and a spec to
                     // remove is gone: remove what is still there (adding
                     // again is harmless), as DeleteNodes does.
                     ClusterPtr current = names_->GetCluster(name);
                     if (!current) return r;
                     std::vector<std::string> left = SpecsStillHeld(*current, remove);
                     if (left.empty() && add.empty())
                       return WriteAck{name, current->version, false};
                     return names_->ChangeNodes(name, left, add);
                   });
                 });
           });
}

void ApiServer::PostNodeOnline(HttpRequest req, HttpExchangePtr ex, std::string name) {
  OnWorker(
      std::move(ex), ApiRoute::kNodeOnline, [this, req = std::move(req), name = std::move(name)] {
        std::string spec;
        bool online = false;
        return DecodeThenWrite(
            &counters_,
            [&] {
              return NameAndBody(name, req.body, [&](const json& doc) {
                return DecodeNodeOnline(doc, &spec, &online);
              });
            },
            [&] {
              return RunWrite(req, [&](bool) { return names_->SetNodeOnline(name, spec, online); });
            });
      });
}

void ApiServer::PostNsCache(HttpRequest req, HttpExchangePtr ex) {
  OnWorker(std::move(ex), ApiRoute::kNsCache, [this, req = std::move(req)] {
    bool enabled = false;
    return DecodeThenWrite(
        &counters_,
        [&] {
          json doc;
          Status s = ParseJsonText(req.body, &doc);
          if (s.ok()) s = DecodeBool(doc, "body", /*allow_words=*/false, &enabled);
          // Local to this instance on purpose: each instance writes its own
          // statuses.
          return s.ok() ? names_->SetStatusWriteCache(enabled) : s;
        },
        [&] {
          return OkReply({{"statusWriteCache", enabled}});
        });
  });
}

void ApiServer::PostProbe(HttpRequest req, HttpExchangePtr ex) {
  std::vector<PeerProbe> probes;
  Status s = ParsePeerProbes(req.body, &probes);
  if (s.ok() && !peer_probe_) s = Status::NotFound("no health checker on this instance");
  if (!s.ok()) return SendError(ex, ApiRoute::kProbe, s);
  // Answered from the checker's thread when the probes are done: no
  // worker waits on them.
  auto shared = std::make_shared<std::vector<PeerProbe>>(probes);
  peer_probe_(std::move(probes), [this, ex, shared](std::vector<std::string> outcomes) {
    Send(ex, ApiRoute::kProbe, OkReply(PeerProbeAnswer(self_address_, *shared, outcomes)));
  });
}

void ApiServer::PostSub(HttpRequest req, HttpExchangePtr ex) {
  if (Status ready = names_->Readiness(); !ready.ok()) {
    return SendError(ex, ApiRoute::kSub, Status::Unavailable("not ready: " + ready.message()));
  }
  auto executor = ex->executor();
  sub_->Handle(req.body, std::move(executor), [this, ex](Result<HttpReply> reply) {
    if (!reply.ok()) return SendError(ex, ApiRoute::kSub, reply.status());
    Send(ex, ApiRoute::kSub, std::move(reply).value());
  });
}

}  // namespace jcm
