#include "subscriber/src/cluster_slot.h"

namespace jcm::internal {
namespace {
std::atomic<uint64_t> next_slot_id{1};
}  // namespace

ClusterSlot::ClusterSlot(std::string name)
    : name_(std::move(name)),
      id_(next_slot_id.fetch_add(1, std::memory_order_relaxed)),
      current_(ClusterSnapshot::Empty()) {}

void ClusterSlot::Publish(std::shared_ptr<const ClusterSnapshot> snapshot) {
  if (hash_picks_.load(std::memory_order_relaxed)) {
    for (Protocol p : {Protocol::kAny, Protocol::kHttp, Protocol::kTcp}) snapshot->view(p).maglev();
  }
  current_.store(std::move(snapshot), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
}

}  // namespace jcm::internal
