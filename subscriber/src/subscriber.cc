#include "jcm/subscriber.h"

#include <fstream>

#include "model/validation.h"
#include "subscriber/src/httplib_transport.h"
#include "subscriber/src/subscriber_core.h"

namespace jcm {
namespace {

Status CheckOptions(const SubscriberOptions& o) {
  if (o.servers.empty()) return Status::InvalidArgument("servers: the list is empty");
  for (const std::string& s : o.servers) {
    std::string host;
    uint16_t port = 0;
    Status st = internal::ParseServerAddress(s, &host, &port);
    if (!st.ok()) return st;
  }
  for (const std::string& name : o.clusters) {
    Status st = ValidateClusterName(name);
    if (!st.ok()) return Status::InvalidArgument("clusters: " + st.message());
  }
  auto positive = [](const char* field, std::chrono::milliseconds v) {
    return v.count() > 0
               ? Status::Ok()
               : Status::InvalidArgument(std::string(field) + ": " + std::to_string(v.count()) +
                                         " ms is not positive");
  };
  for (auto [field, v] :
       {std::pair{"poll_interval", o.poll_interval},
        std::pair{"connect_timeout", o.connect_timeout},
        std::pair{"request_timeout", o.request_timeout},
        std::pair{"backoff_initial", o.backoff_initial}, std::pair{"backoff_max", o.backoff_max}}) {
    Status st = positive(field, v);
    if (!st.ok()) return st;
  }
  if (o.long_poll_wait.count() < 0 || o.long_poll_wait.count() > 30000) {
    return Status::InvalidArgument("long_poll_wait: " + std::to_string(o.long_poll_wait.count()) +
                                   " ms is out of range 0-30000");
  }
  if (o.backoff_max < o.backoff_initial) {
    return Status::InvalidArgument("backoff_max: " + std::to_string(o.backoff_max.count()) +
                                   " ms is below backoff_initial");
  }
  if (!o.ca_file.empty() && !std::ifstream(o.ca_file).good()) {
    return Status::InvalidArgument("ca_file: cannot read '" + o.ca_file + "'");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Subscriber>> Subscriber::Create(SubscriberOptions options) {
  auto transport = std::make_shared<internal::HttplibTransport>(
      options.connect_timeout, internal::HttplibTransport::kDefaultMaxReplyBytes, options.token,
      options.ca_file);
  return CreateForTest(std::move(options), std::move(transport),
                       std::make_shared<internal::SteadyClock>());
}

Result<std::unique_ptr<Subscriber>> Subscriber::CreateForTest(
    SubscriberOptions options, std::shared_ptr<internal::Transport> transport,
    std::shared_ptr<internal::Clock> clock) {
  Status s = CheckOptions(options);
  if (!s.ok()) return s;
  auto core = std::make_unique<internal::SubscriberCore>(std::move(options), std::move(transport),
                                                         std::move(clock));
  return std::unique_ptr<Subscriber>(new Subscriber(std::move(core)));
}

Subscriber::Subscriber(std::unique_ptr<internal::SubscriberCore> core) : core_(std::move(core)) {}
Subscriber::~Subscriber() { core_->Stop(); }

Status Subscriber::Start() { return core_->Start(); }
void Subscriber::Stop() { core_->Stop(); }
Status Subscriber::Subscribe(const std::string& name) { return core_->Subscribe(name); }

Allocator Subscriber::NewAllocator(const std::string& name, Policy policy) {
  std::shared_ptr<internal::ClusterSlot> slot = core_->SlotFor(name);
  // A null slot (malformed name) makes an allocator that picks "none".
  return Allocator(std::move(slot), policy);
}

Result<ClusterInfo> Subscriber::GetCluster(const std::string& name) const {
  return core_->GetCluster(name);
}
uint64_t Subscriber::AddListener(Listener listener) {
  return core_->AddListener(std::move(listener));
}
void Subscriber::RemoveListener(uint64_t id) { core_->RemoveListener(id); }
SubscriberStats Subscriber::stats() const { return core_->stats(); }

}  // namespace jcm
