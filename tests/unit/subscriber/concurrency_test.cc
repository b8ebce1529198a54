// Many threads pick while the poller's role (here: one writer thread)
// swaps snapshots. Run under ASan in the suite: a pick that read a freed
// snapshot, or an endpoint torn between two snapshots, fails here.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "jcm/allocator.h"
#include "tests/unit/subscriber/test_clusters.h"

namespace jcm {
namespace {

using internal::AllocatorAccess;
using internal::ClusterSlot;

TEST(SubscriberConcurrency, PicksStayConsistentWhileSnapshotsSwap) {
  auto slot = std::make_shared<ClusterSlot>("c");
  // Two alternating node sets: nodes 1-5, or nodes 6-20.
  Cluster small = testing::MakeCluster("c", 5);
  Cluster large = testing::MakeCluster("c", 20);
  large.nodes.RemoveSorted({0, 1, 2, 3, 4});
  testing::PublishCluster(*slot, small);

  std::atomic<bool> done{false};
  std::atomic<uint64_t> picks{0}, bad{0}, none{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      Policy policy = static_cast<Policy>(t % 3);
      Allocator a = AllocatorAccess::Make(slot, policy);
      uint64_t local = 0;
      while (!done.load(std::memory_order_relaxed) || local < 1000) {
        Pick p = a.Pick(Protocol::kHttp, std::to_string(local));
        if (!p) {
          none.fetch_add(1);
        } else {
          int octet = std::stoi(std::string(p.ip().substr(p.ip().rfind('.') + 1)));
          // The endpoint must be whole: the port belongs to the same node.
          if (p.port() != 8000 + octet || octet < 1 || octet > 20) bad.fetch_add(1);
        }
        ++local;
      }
      picks.fetch_add(local);
    });
  }
  // Built up front: the test is about swapping, not about building.
  std::vector<std::shared_ptr<const internal::ClusterSnapshot>> built;
  for (int i = 0; i < 4; ++i) {
    Cluster c = (i % 2) ? small : large;
    c.version = i + 2;
    built.push_back(internal::ClusterSnapshot::Build(std::make_shared<Cluster>(std::move(c)),
                                                     ClusterInfo::Source::kServer));
  }
  std::thread writer([&] {
    for (int i = 0; i < 500; ++i) {
      slot->Publish(built[i % built.size()]);
      if (i % 16 == 0) std::this_thread::yield();
    }
    built.clear();  // the slot and the readers hold what is still in use
    done.store(true);
  });
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(none.load(), 0u);
  EXPECT_GE(picks.load(), 4000u);
  // Readers see the last snapshot once the writer is done.
  Allocator rr = AllocatorAccess::Make(slot, Policy::kRoundRobin);
  for (int i = 0; i < 4; ++i) {
    std::string ip(rr.Pick().ip());
    EXPECT_TRUE(ip == "10.0.0.1" || ip == "10.0.0.2" || ip == "10.0.0.3" || ip == "10.0.0.4" ||
                ip == "10.0.0.5")
        << ip;
  }
}

}  // namespace
}  // namespace jcm
