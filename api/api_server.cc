#include "api/api_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/leader_forwarder.h"
#include "api/request_decoding.h"
#include "api/subscribe_handler.h"
#include "api/ui_assets.h"
#include "model/cluster_codec.h"
#include "model/limits.h"
#include "model/validation.h"

namespace jcm {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

// Exposes the listening socket, which cpp-httplib keeps protected, so its
// backlog of 5 can be raised.
class BacklogServer : public httplib::Server {
 public:
  int listen_fd() const { return svr_sock_; }
};

std::string JoinHostPort(const std::string& host, int port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace

ApiServer::ApiServer(ApiOptions options, NameService* names)
    : options_(std::move(options)), names_(names) {
  max_parked_ = options_.max_parked_long_polls >= 0 ? options_.max_parked_long_polls
                                                    : options_.worker_threads / 2;
}

ApiServer::~ApiServer() { Stop(); }

Status ApiServer::Start() {
  if (server_) return Status::Internal("ApiServer::Start called twice");
  auto server = std::make_unique<BacklogServer>();
  size_t threads = static_cast<size_t>(std::max(1, options_.worker_threads));
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Without it, Nagle plus delayed ACK stall every small reply ~40 ms.
  server->set_tcp_nodelay(true);
  server->set_payload_max_length(limits::kMaxRequestBodyBytes);
  server->set_keep_alive_max_count(std::max<size_t>(1, options_.keep_alive_max_count));
  server->set_keep_alive_timeout(options_.keep_alive_timeout_sec);
  server->set_read_timeout(options_.read_timeout);
  server->set_write_timeout(std::chrono::seconds(10));

  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second
  // instance bind the same port and silently take half the connections.
  server->set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  int port = options_.port;
  if (port == 0) {
    port = server->bind_to_any_port(options_.host);
    if (port <= 0) {
      return Status::Unavailable("cannot listen on " + options_.host + " (any port)");
    }
  } else if (!server->bind_to_port(options_.host, port)) {
    return Status::Unavailable("cannot listen on " + JoinHostPort(options_.host, port) +
                               ": address in use or not local");
  }
  if (options_.listen_backlog > 0 && ::listen(server->listen_fd(), options_.listen_backlog) != 0) {
    spdlog::warn("api: could not raise the listen backlog to {}", options_.listen_backlog);
  }
  // cpp-httplib gives a connection keep_alive_timeout to send its *first*
  // request too; with a timeout of 0 (~10 ms) a client slow to write after
  // connecting would be dropped unanswered. With TCP_DEFER_ACCEPT the kernel
  // hands over a connection only once its first bytes arrived.
  int defer_sec = 10;
  if (::setsockopt(server->listen_fd(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_sec,
                   sizeof(defer_sec)) != 0) {
    spdlog::warn("api: could not set TCP_DEFER_ACCEPT");
  }
  port_ = port;
  self_address_ =
      options_.self_address.empty() ? JoinHostPort(options_.host, port) : options_.self_address;

  LeaderForwarderOptions fopts;
  fopts.self_address = self_address_;
  fopts.connect_timeout = options_.forward_connect_timeout;
  fopts.read_timeout = options_.forward_read_timeout;
  fopts.apply_timeout = options_.apply_timeout;
  forwarder_ = std::make_unique<LeaderForwarder>(fopts, names_, &counters_);
  SubscribeOptions sopts;
  sopts.max_parked = max_parked_;
  sopts.wake_slice = options_.long_poll_wake_slice;
  sub_ = std::make_unique<SubscribeHandler>(sopts, names_, &cache_, &counters_);

  server_ = std::move(server);
  RegisterRoutes();
  listener_ = std::thread([this] {
    server_->listen_after_bind();
    listener_done_.store(true);
  });
  // cpp-httplib's stop() does nothing until the accept loop runs, so a Stop()
  // right after Start() would hang; wait for the loop (microseconds).
  while (!server_->is_running() && !listener_done_.load()) std::this_thread::yield();
  spdlog::info("api: serving on {} ({} workers, at most {} parked long polls)", self_address_,
               threads, max_parked_);
  return Status::Ok();
}

void ApiServer::Stop() {
  if (!server_ || stopped_) return;
  stopped_ = true;
  sub_->Shutdown();
  server_->stop();
  if (listener_.joinable()) listener_.join();
}

json ApiServer::CountersJson() const {
  json j = counters_.ToJson();
  j["maxParkedLongPolls"] = max_parked_;
  j["workerThreads"] = options_.worker_threads;
  return j;
}

void ApiServer::Send(Response& res, const HttpReply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type.c_str());
}

void ApiServer::SendError(Response& res, const Status& status) {
  counters_.CountError(status.code());
  int http = HttpStatusFor(status.code());
  if (http >= 500) spdlog::warn("api: {}", status.ToString());
  Send(res, ErrorReply(status));
}

void ApiServer::RunWrite(const Request& req, Response& res,
                         const std::function<Result<WriteAck>()>& mutation) {
  Result<WriteAck> result = mutation();
  if (result.ok()) return Send(res, OkReply(WriteAckJson(result.value())));
  if (result.status().code() != Status::Code::kNotLeader) return SendError(res, result.status());
  ForwardRequest forward{req.method, req.target, req.body, req.get_header_value(kForwardedHeader)};
  Result<HttpReply> reply = forwarder_->Forward(forward);
  if (!reply.ok()) return SendError(res, reply.status());
  Send(res, reply.value());
}

bool ApiServer::PathName(const Request& req, Response& res, std::string* name) {
  *name = req.matches.size() > 1 ? req.matches[1].str() : std::string();
  Status s = ValidateClusterName(*name);
  if (!s.ok()) {
    SendError(res, s);
    return false;
  }
  return true;
}

bool ApiServer::JsonBody(const Request& req, Response& res, json* doc) {
  Status s = ParseJsonText(req.body, doc);
  if (!s.ok()) {
    SendError(res, s);
    return false;
  }
  return true;
}

void ApiServer::RegisterRoutes() {
  httplib::Server& s = *server_;
  // Every request, including those cpp-httplib refuses itself (404, 413).
  s.set_pre_routing_handler([this](const Request&, Response&) {
    counters_.requests.fetch_add(1, std::memory_order_relaxed);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_logger([this](const Request&, const Response& res) { counters_.CountReply(res.status); });
  // Called for every reply >= 400; fills in our envelope only where
  // cpp-httplib refused on its own and left the body empty.
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg;
    switch (res.status) {
      case 404:
        msg = "no route for " + req.method + " " + req.path;
        break;
      case 413:
        msg = "body: larger than " + std::to_string(limits::kMaxRequestBodyBytes) + " bytes";
        break;
      default:
        msg = "HTTP " + std::to_string(res.status) + " for " + req.method + " " + req.path;
    }
    HttpReply reply = ErrorReply(res.status, msg);
    res.set_content(reply.body, reply.content_type.c_str());
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([this](const Request& req, Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, Status::Internal(req.method + " " + req.path + ": " + what));
  });

  auto bind = [this](void (ApiServer::*fn)(const Request&, Response&)) {
    return [this, fn](const Request& req, Response& res) { (this->*fn)(req, res); };
  };
  s.Get("/healthz", [this](const Request&, Response& res) {
    Send(res, OkReply({{"self", self_address_}}));
  });
  s.Get("/c", bind(&ApiServer::GetClusters));
  s.Post("/c", bind(&ApiServer::PostCluster));
  s.Get("/c/list", bind(&ApiServer::GetClusters));
  s.Post("/c/online/(.+)", bind(&ApiServer::PostClusterOnline));
  // More specific before less: handlers are tried in registration order.
  s.Post("/c/node/online/(.+)", bind(&ApiServer::PostNodeOnline));
  s.Post("/c/node/(.+)", bind(&ApiServer::PostNodes));
  s.Delete("/c/node/(.+)", bind(&ApiServer::DeleteNodes));
  // (.+), not ([^/]+): a name holding '/' must reach the validator and get
  // a 400 naming it, not a 404.
  s.Get("/c/(.+)", bind(&ApiServer::GetCluster));
  s.Delete("/c/(.+)", bind(&ApiServer::DeleteCluster));
  s.Get("/sys/status", bind(&ApiServer::GetSysStatus));
  s.Post("/sys/nscache", bind(&ApiServer::PostNsCache));
  s.Post("/sub", bind(&ApiServer::PostSub));

  // ---- BEGIN temporary /ui route (the dashboard, ui/ embedded by jcm_ui).
  // To be ported to the new server; nothing else in this file depends on it.
  // "/ui" redirects to "/ui/" so the page's relative hash links resolve
  // under it; every file is served with its own type, revalidated on each
  // load (no-cache: a new binary may carry a new dashboard), sniffing off,
  // and a CSP that allows only this origin (the dashboard has no inline
  // script or style and fetches nothing from elsewhere).
  s.Get("/ui(/.*)?", [this](const Request& req, Response& res) {
    if (req.path == "/ui") {
      res.status = 301;
      res.set_header("Location", "/ui/");
      return;
    }
    const UiAsset* asset = FindUiAsset(req.path);
    if (!asset) {
      return SendError(res, Status::NotFound("no dashboard file " + QuoteForError(req.path)));
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                   "base-uri 'none'; form-action 'none'");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_content(asset->body.data(), asset->body.size(), std::string(asset->content_type));
  });
  // ---- END temporary /ui route.
}

void ApiServer::GetClusters(const Request& req, Response& res) {
  std::vector<ClusterPtr> clusters = names_->ListClusters();
  json data = json::array();
  if (req.path == "/c/list") {
    for (const ClusterPtr& c : clusters) data.push_back(c->name);
    return Send(res, OkReply(data));
  }
  ClusterJsonForm form;
  Status s = DecodeClusterForm(req.get_param_value("form"), &form);
  if (!s.ok()) return SendError(res, s);
  std::string text = "[";
  for (const ClusterPtr& c : clusters) {
    if (text.size() > 1) text += ',';
    auto encoded = cache_.Get(c);
    text += form == ClusterJsonForm::kJcm ? encoded->Jcm() : encoded->Full();
  }
  text += ']';
  Send(res, OkReplyRaw(text));
}

void ApiServer::GetCluster(const Request& req, Response& res) {
  std::string name;
  if (!PathName(req, res, &name)) return;
  ClusterJsonForm form;
  Status s = DecodeClusterForm(req.get_param_value("form"), &form);
  if (!s.ok()) return SendError(res, s);
  ClusterPtr cluster = names_->GetCluster(name);
  if (!cluster)
    return SendError(res, Status::NotFound("cluster " + QuoteForError(name) + " not found"));
  auto encoded = cache_.Get(cluster);
  Send(res, OkReplyRaw(form == ClusterJsonForm::kJcm ? encoded->Jcm() : encoded->Full()));
}

void ApiServer::PostCluster(const Request& req, Response& res) {
  json doc;
  if (!JsonBody(req, res, &doc)) return;
  Cluster cluster;
  Status s = DecodeCluster(doc, &cluster);
  if (!s.ok()) return SendError(res, s);
  RunWrite(req, res, [&] { return names_->PutCluster(cluster); });
}

void ApiServer::DeleteCluster(const Request& req, Response& res) {
  std::string name;
  if (!PathName(req, res, &name)) return;
  RunWrite(req, res, [&] { return names_->DeleteCluster(name); });
}

void ApiServer::PostClusterOnline(const Request& req, Response& res) {
  std::string name;
  json doc;
  if (!PathName(req, res, &name) || !JsonBody(req, res, &doc)) return;
  bool online = false;
  Status s = DecodeBool(doc, "body", /*allow_words=*/true, &online);
  if (!s.ok()) return SendError(res, s);
  RunWrite(req, res, [&] { return names_->SetClusterOnline(name, online); });
}

void ApiServer::PostNodes(const Request& req, Response& res) {
  std::string name;
  json doc;
  if (!PathName(req, res, &name) || !JsonBody(req, res, &doc)) return;
  std::vector<Node> nodes;
  Status s = DecodeNodeList(doc, &nodes);
  if (!s.ok()) return SendError(res, s);
  RunWrite(req, res, [&] { return names_->AddNodes(name, nodes); });
}

void ApiServer::DeleteNodes(const Request& req, Response& res) {
  std::string name;
  json doc;
  if (!PathName(req, res, &name) || !JsonBody(req, res, &doc)) return;
  std::vector<std::string> specs;
  Status s = DecodeSpecList(doc, &specs);
  if (!s.ok()) return SendError(res, s);
  RunWrite(req, res, [&] { return names_->RemoveNodes(name, specs); });
}

void ApiServer::PostNodeOnline(const Request& req, Response& res) {
  std::string name;
  json doc;
  if (!PathName(req, res, &name) || !JsonBody(req, res, &doc)) return;
  std::string spec;
  bool online = false;
  Status s = DecodeNodeOnline(doc, &spec, &online);
  if (!s.ok()) return SendError(res, s);
  RunWrite(req, res, [&] { return names_->SetNodeOnline(name, spec, online); });
}

void ApiServer::GetSysStatus(const Request&, Response& res) {
  json data = names_->SystemStatus();
  if (!data.is_object()) data = json{{"service", std::move(data)}};
  data["api"] = CountersJson();
  Send(res, OkReply(data));
}

void ApiServer::PostNsCache(const Request& req, Response& res) {
  json doc;
  if (!JsonBody(req, res, &doc)) return;
  bool enabled = false;
  Status s = DecodeBool(doc, "body", /*allow_words=*/false, &enabled);
  if (!s.ok()) return SendError(res, s);
  // Local to this instance on purpose: each instance writes its own statuses.
  s = names_->SetStatusWriteCache(enabled);
  if (!s.ok()) return SendError(res, s);
  Send(res, OkReply({{"statusWriteCache", enabled}}));
}

void ApiServer::PostSub(const Request& req, Response& res) {
  Result<HttpReply> reply = sub_->Handle(req.body);
  if (!reply.ok()) return SendError(res, reply.status());
  Send(res, reply.value());
}

}  // namespace jcm
