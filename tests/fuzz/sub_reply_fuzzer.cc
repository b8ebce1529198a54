// Fuzz target: the subscriber's /sub reply decoding, through the Poller's
// public path (PollOnce against a transport that answers the input), with
// one cluster held from a live answer and one not yet held. Checks that no
// exception reached the poller's barrier (the decoders must refuse by
// Status, not by throwing) and that whatever is held afterwards is valid.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "model/validation.h"
#include "subscriber/src/cluster_registry.h"
#include "subscriber/src/cluster_snapshot.h"
#include "subscriber/src/poller.h"
#include "subscriber/src/transport.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant violated: %s\n", what);
    std::abort();
  }
}

class ReplyTransport : public jcm::internal::Transport {
 public:
  explicit ReplyTransport(std::string reply) : reply_(std::move(reply)) {}
  jcm::Result<std::string> Post(const std::string&, const std::string&, const std::string&,
                                std::chrono::milliseconds) override {
    return reply_;
  }
  void Cancel() override {}
  void Interrupt() override {}

 private:
  std::string reply_;
};

class FixedClock : public jcm::internal::Clock {
 public:
  int64_t NowMs() const override { return 1000000; }
};

jcm::Cluster Held() {
  jcm::Cluster c;
  c.name.append("c");  // not operator=: g++ 12 -O2 warns -Wrestrict there falsely
  c.version = 5;
  c.status_version = 3;
  for (int i = 1; i <= 3; ++i) {
    jcm::Node n;
    n.ip = "10.0.0." + std::to_string(i);
    n.protos.push_back({static_cast<uint16_t>(8000 + i), jcm::Proto::kHttp});
    n.status = jcm::NodeStatus::kNormal;
    c.nodes.push_back(n);
  }
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace jcm::internal;
  jcm::SubscriberOptions options;
  options.servers = {"127.0.0.1:1"};
  // Built once: a snapshot builds its balancing tables, which would
  // dominate every run.
  static const std::shared_ptr<const ClusterSnapshot> held = ClusterSnapshot::Build(
      std::make_shared<jcm::Cluster>(Held()), jcm::ClusterInfo::Source::kServer);
  ClusterRegistry registry;
  registry.GetOrAdd("c")->Publish(held);
  registry.GetOrAdd("d");
  ReplyTransport transport(std::string(reinterpret_cast<const char*>(data), size));
  FixedClock clock;
  Poller poller(options, &registry, &transport, &clock);
  poller.PollOnce();
  Check(poller.stats().exceptions_caught == 0, "no exception reached the barrier");
  for (const auto& slot : registry.All()) {
    const jcm::Cluster* c = slot->Load()->cluster();
    if (c == nullptr) continue;
    Check(c->name == slot->name(), "a slot holds its own cluster");
    Check(jcm::ValidateCluster(*c).ok(), "what is held is valid");
  }
  return 0;
}
