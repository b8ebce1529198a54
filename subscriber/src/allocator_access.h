// AllocatorAccess: builds an Allocator over a bare ClusterSlot, for tests
// and benchmarks that drive snapshots without a Subscriber or a server.
//
// Thread-safety: as Allocator.
#pragma once

#include <memory>

#include "jcm/allocator.h"
#include "subscriber/src/cluster_slot.h"

namespace jcm::internal {

struct AllocatorAccess {
  static Allocator Make(std::shared_ptr<const ClusterSlot> slot, Policy policy) {
    return Allocator(std::move(slot), policy);
  }
};

}  // namespace jcm::internal
