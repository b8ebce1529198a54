// Issue 8 items 1, 3, 4, 5, 8, 9, 11 against a real ZooKeeper, with
// ClusterService in this process so a test hook can hold a thread exactly
// inside the narrow window each item is about (no timing luck).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "model/limits.h"
#include "server/cluster_service.h"
#include "storage/cluster_store.h"
#include "storage/membership.h"
#include "storage/zk_client.h"
#include "tests/support/test_env.h"
#include "tests/support/zk_server.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

constexpr char kRoot[] = "/svc";

// A one-shot gate: Wait() blocks until Open().
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait(milliseconds timeout = milliseconds(20000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

Node NodeAt(int i, uint16_t port = 8080) {
  Node n;
  n.ip = "10.1." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
  n.protos.push_back({port, Proto::kHttp});
  return n;
}

Cluster ClusterNamed(const std::string& name, int nodes, int first = 0) {
  Cluster c;
  c.name = name;
  c.check_type = CheckType::kNone;
  for (int i = 0; i < nodes; ++i) c.nodes.push_back(NodeAt(first + i));
  return c;
}

// Nodes with random udata: more than a znode holds even compressed.
std::vector<Node> IncompressibleNodes(int count, int first) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> letter(0, 61);
  const char* alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::vector<Node> out;
  for (int i = 0; i < count; ++i) {
    Node n = NodeAt(first + i);
    n.udata.assign(4000, 'x');
    for (char& ch : n.udata) ch = alphabet[letter(rng)];
    out.push_back(n);
  }
  return out;
}

class ServiceFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    zk_ = std::make_unique<ZkServer>();
    std::string error;
    ASSERT_TRUE(zk_->Start(&error)) << error;
    raw_ = std::make_unique<ZkClient>(ZkClient::Options{zk_->connect_string(), 4000},
                                      [](const ZkEvent&) {});
    ASSERT_TRUE(raw_->Start().ok());
    ASSERT_TRUE(raw_->WaitConnected(10000));
    ASSERT_TRUE(raw_->EnsurePath(std::string(kRoot) + "/clusters").ok());
  }
  void TearDown() override {
    for (auto& s : services_) s->Shutdown();
    services_.clear();
    raw_->Close();
  }

  ClusterService::Options OptionsFor(const std::string& address) {
    ClusterService::Options o;
    o.zk_hosts = zk_->connect_string();
    o.zk_root = kRoot;
    o.self_address = address;
    o.session_timeout_ms = 4000;
    return o;
  }

  // A started service; set hooks/clock through `prepare` before Start().
  ClusterService* StartService(const std::string& address,
                               const std::function<void(ClusterService*)>& prepare = nullptr,
                               ClusterService::Options* options = nullptr) {
    services_.push_back(std::make_unique<ClusterService>(options ? *options : OptionsFor(address)));
    ClusterService* s = services_.back().get();
    if (prepare) prepare(s);
    EXPECT_TRUE(s->Start().ok());
    return s;
  }
  static bool WaitLeader(ClusterService* s) {
    return WaitUntil([&] { return s->Leader().self; }, milliseconds(15000));
  }
  static bool WaitReady(ClusterService* s) {
    return WaitUntil([&] { return s->Readiness().ok(); }, milliseconds(15000));
  }

  // Writes a cluster straight into ZooKeeper, as another leader would have.
  void PutRaw(const Cluster& c) {
    Result<std::string> bytes = ClusterStore::Encode(c);
    ASSERT_TRUE(bytes.ok());
    Result<std::string> r =
        raw_->Create(std::string(kRoot) + "/clusters/" + c.name, bytes.value(), 0);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::unique_ptr<ZkServer> zk_;
  std::unique_ptr<ZkClient> raw_;
  std::vector<std::unique_ptr<ClusterService>> services_;
};

// Item 1: not ready before the first complete load; ready after; not ready
// once ZooKeeper has been gone longer than the session timeout (injected
// clock), ready again when it is back.
TEST_F(ServiceFaultsTest, ReadinessFollowsLoadAndSessionLoss) {
  for (int i = 0; i < 20; ++i) PutRaw(ClusterNamed("pre" + std::to_string(i), 2));
  std::atomic<int64_t> now{1000000};
  ClusterService::Options o = OptionsFor("127.0.0.1:1");
  o.now_ms = [&] { return now.load(); };
  Gate entered, release;
  std::atomic<int> loads{0};
  ClusterService* s = StartService(
      "",
      [&](ClusterService* svc) {
        ClusterService::TestHooks h;
        h.before_full_load = [&] {
          if (loads++ == 0) {
            entered.Open();
            release.Wait();
          }
        };
        svc->SetTestHooks(h);
      },
      &o);
  ASSERT_TRUE(entered.Wait());
  Status r = s->Readiness();
  EXPECT_TRUE(r.IsUnavailable());
  EXPECT_NE(r.message().find("not loaded yet"), std::string::npos) << r.ToString();
  EXPECT_EQ(s->GetCluster("pre3"), nullptr);
  release.Open();
  ASSERT_TRUE(WaitReady(s)) << s->Readiness().ToString();
  EXPECT_EQ(s->ListClusters().size(), 20u);

  zk_->Stop();
  ASSERT_TRUE(WaitUntil([&] { return !s->zk()->connected(); }, milliseconds(10000)));
  const int64_t stopped_at = now.load();
  // Within the session timeout the view is still trusted.
  now += o.session_timeout_ms / 2;
  EXPECT_TRUE(s->Readiness().ok()) << s->Readiness().ToString();
  // Past it, not ready, with the reason.
  ASSERT_TRUE(WaitUntil(
      [&] {
        now += 100;
        return !s->Readiness().ok();
      },
      milliseconds(10000)));
  EXPECT_GT(now.load() - stopped_at, o.session_timeout_ms);
  r = s->Readiness();
  EXPECT_NE(r.message().find("no ZooKeeper session for"), std::string::npos) << r.ToString();
  std::string error;
  ASSERT_TRUE(zk_->Start(&error)) << error;
  EXPECT_TRUE(WaitReady(s)) << s->Readiness().ToString();
}

// Item 4: a new session loads before it may lead.
TEST_F(ServiceFaultsTest, LeadsOnlyAfterTheClustersAreLoaded) {
  for (int i = 0; i < 5; ++i) PutRaw(ClusterNamed("pre" + std::to_string(i), 1));
  std::atomic<bool> leader_during_load{false};
  std::atomic<bool> hooked{false};
  ClusterService* s = StartService("127.0.0.1:1", [&](ClusterService* svc) {
    ClusterService::TestHooks h;
    h.before_full_load = [&leader_during_load, &hooked, svc] {
      hooked = true;
      if (svc->Leader().self) leader_during_load = true;
    };
    svc->SetTestHooks(h);
  });
  ASSERT_TRUE(WaitLeader(s));
  EXPECT_TRUE(hooked.load());
  EXPECT_FALSE(leader_during_load.load()) << "led before its clusters were loaded";
  EXPECT_EQ(s->ListClusters().size(), 5u);
  EXPECT_TRUE(s->AddNodes("pre1", {NodeAt(50)}).ok());
}

// Item 3: a batch whose fence is from an expired session must not demote
// the instance that leads again under its new session.
TEST_F(ServiceFaultsTest, StaleFenceDoesNotStripLeadership) {
  std::atomic<bool> armed{false};
  ClusterService* s = StartService("127.0.0.1:1", [&armed](ClusterService* svc) {
    ClusterService::TestHooks h;
    h.before_save = [&armed, svc](const std::string&) {
      if (!armed.exchange(false)) return;
      const int64_t old_session = svc->zk()->session_id();
      const std::string old_fence = svc->membership()->self_path();
      ASSERT_TRUE(svc->zk()->ExpireSessionForTest().ok());
      // Held here until the new session is registered and leads.
      ASSERT_TRUE(WaitUntil(
          [&] {
            return svc->zk()->session_id() != old_session && svc->Leader().self &&
                   !svc->membership()->self_path().empty() &&
                   svc->membership()->self_path() != old_fence;
          },
          milliseconds(20000)));
    };
    svc->SetTestHooks(h);
  });
  ASSERT_TRUE(WaitLeader(s));
  ASSERT_TRUE(s->PutCluster(ClusterNamed("fenced", 1)).ok());
  armed = true;
  Result<WriteAck> r = s->AddNodes("fenced", {NodeAt(2)});
  EXPECT_TRUE(r.ok()) << "the write was not applied; retried under the new fence: "
                      << r.status().ToString();
  EXPECT_TRUE(s->Leader().self) << "a stale fence demoted the leader";
  Result<WriteAck> next = s->AddNodes("fenced", {NodeAt(3)});
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(s->GetCluster("fenced")->nodes.size(), 3u);
}

// Item 5: the reply to the member create is lost; Register() recognises the
// znode it made instead of leaving an orphan that holds the lowest sequence.
TEST_F(ServiceFaultsTest, LostCreateReplyLeavesNoOrphanMember) {
  const std::string root = "/members5";
  ASSERT_TRUE(raw_->EnsurePath(root + "/servers").ok());
  Membership m(raw_.get(), root, "127.0.0.1:5");
  std::atomic<int> creates{0};
  m.SetLoseCreateReplyForTest([&] { return creates++ == 0; });
  Status s = m.Register();
  if (!s.ok()) s = m.Register();  // what a caller would do
  ASSERT_TRUE(s.ok()) << s.ToString();
  Result<std::vector<std::string>> children = raw_->GetChildren(root + "/servers", false);
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(children->size(), 1u) << "an orphan member znode was left behind";
  Result<MemberView> view = m.Refresh();
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->self_is_leader) << "the election is stalled behind an orphan";
  EXPECT_EQ(creates.load(), 1);
}

// Item 8: a listing read before the leader created a cluster, applied after,
// must not drop it.
TEST_F(ServiceFaultsTest, StaleListingDoesNotDropJustWrittenCluster) {
  std::atomic<bool> armed{false};
  Gate in_window, release;
  std::atomic<bool> saw_x{false}, x_dropped{false};
  ClusterService* s = StartService("127.0.0.1:1", [&](ClusterService* svc) {
    svc->SetChangeListener([&, svc](const std::string& name) {
      if (name != "x") return;
      if (svc->GetCluster("x")) {
        saw_x = true;
      } else if (saw_x) {
        x_dropped = true;
      }
    });
    ClusterService::TestHooks h;
    h.after_list = [&] {
      if (!armed.exchange(false)) return;
      in_window.Open();
      release.Wait();
    };
    svc->SetTestHooks(h);
  });
  ASSERT_TRUE(WaitLeader(s));
  armed = true;
  PutRaw(ClusterNamed("trigger", 1));  // the children watch lists on the dispatch thread
  ASSERT_TRUE(in_window.Wait());
  // The listing is taken; the leader now creates "x".
  ASSERT_TRUE(s->PutCluster(ClusterNamed("x", 1)).ok());
  ASSERT_NE(s->GetCluster("x"), nullptr);
  release.Open();
  // Once a later event is through, the stale listing has been applied.
  PutRaw(ClusterNamed("marker", 1));
  ASSERT_TRUE(WaitUntil([&] { return s->GetCluster("marker") != nullptr; }, milliseconds(10000)));
  EXPECT_FALSE(x_dropped.load()) << "a stale listing dropped a just-written cluster";
  EXPECT_NE(s->GetCluster("x"), nullptr);
}

// Item 8: a load read before a deletion, applied after, must not bring the
// cluster back.
TEST_F(ServiceFaultsTest, StaleLoadDoesNotResurrectDeletedCluster) {
  PutRaw(ClusterNamed("y", 1));  // loaded (and watched) by the first load
  std::atomic<bool> armed{false}, deleted{false}, resurrected{false};
  Gate in_window, release;
  std::thread::id dispatch_thread;
  ClusterService* s = StartService("127.0.0.1:1", [&](ClusterService* svc) {
    svc->SetChangeListener([&, svc](const std::string& name) {
      if (name == "y" && deleted && svc->GetCluster("y")) resurrected = true;
    });
    ClusterService::TestHooks h;
    h.after_load = [&](const std::string& name) {
      if (name != "y" || !armed.exchange(false)) return;
      in_window.Open();
      release.Wait();
    };
    svc->SetTestHooks(h);
  });
  ASSERT_TRUE(WaitLeader(s));
  ASSERT_NE(s->GetCluster("y"), nullptr);
  armed = true;
  // Our own write fires y's data watch: the dispatch thread re-reads y and
  // is held before applying what it read.
  ASSERT_TRUE(s->AddNodes("y", {NodeAt(9)}).ok());
  ASSERT_TRUE(in_window.Wait());
  Result<WriteAck> del = s->DeleteCluster("y");
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  deleted = true;
  EXPECT_EQ(s->GetCluster("y"), nullptr);
  release.Open();
  PutRaw(ClusterNamed("marker", 1));
  ASSERT_TRUE(WaitUntil([&] { return s->GetCluster("marker") != nullptr; }, milliseconds(10000)));
  EXPECT_FALSE(resurrected.load()) << "a stale load brought a deleted cluster back";
  EXPECT_EQ(s->GetCluster("y"), nullptr);
}

// Item 9: in one group-commit batch, the mutation that cannot be stored
// (too large for a znode) fails alone; the others apply and share a version.
TEST_F(ServiceFaultsTest, OversizedMutationFailsAloneInItsBatch) {
  std::atomic<bool> armed{false};
  Gate held, release;
  ClusterService* s = StartService("127.0.0.1:1", [&](ClusterService* svc) {
    ClusterService::TestHooks h;
    h.before_save = [&](const std::string&) {
      if (!armed.exchange(false)) return;
      held.Open();
      release.Wait();
    };
    svc->SetTestHooks(h);
  });
  ASSERT_TRUE(WaitLeader(s));
  ASSERT_TRUE(s->PutCluster(ClusterNamed("b", 1)).ok());
  armed = true;
  auto first = std::async(std::launch::async, [&] { return s->AddNodes("b", {NodeAt(1)}); });
  ASSERT_TRUE(held.Wait());
  // Queued behind the held write, they form the next batch, in this order.
  auto small1 = std::async(std::launch::async, [&] { return s->AddNodes("b", {NodeAt(2)}); });
  ASSERT_TRUE(WaitUntil([&] { return s->QueuedWrites("b") == 1; }, milliseconds(5000)));
  std::vector<Node> huge_nodes = IncompressibleNodes(400, 1000);
  auto huge = std::async(std::launch::async, [&] { return s->AddNodes("b", huge_nodes); });
  ASSERT_TRUE(WaitUntil([&] { return s->QueuedWrites("b") == 2; }, milliseconds(5000)));
  auto small2 = std::async(std::launch::async, [&] { return s->AddNodes("b", {NodeAt(3)}); });
  ASSERT_TRUE(WaitUntil([&] { return s->QueuedWrites("b") == 3; }, milliseconds(5000)));
  release.Open();
  ASSERT_TRUE(first.get().ok());
  Result<WriteAck> a = small1.get(), h = huge.get(), b = small2.get();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Status::Code::kTooLarge) << h.status().ToString();
  EXPECT_EQ(a->version, b->version) << "one batch, one write";
  ClusterPtr c = s->GetCluster("b");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->nodes.size(), 4u);
  EXPECT_EQ(c->version, b->version);
}

// Item 9: an AddNodes queued before a PutCluster gets an ack whose version
// holds its node (the replacement is written after, at a later version).
TEST_F(ServiceFaultsTest, AckVersionHoldsCallersChangeBeforeAReplacement) {
  std::atomic<bool> armed{false};
  Gate held, release;
  std::mutex seen_mu;
  std::map<int64_t, size_t> nodes_at_version;  // what each stored version held
  ClusterService* s = StartService("127.0.0.1:1", [&](ClusterService* svc) {
    svc->SetChangeListener([&, svc](const std::string& name) {
      ClusterPtr c = svc->GetCluster(name);
      std::lock_guard lock(seen_mu);
      if (c) nodes_at_version[c->version] = c->nodes.size();
    });
    ClusterService::TestHooks h;
    h.before_save = [&](const std::string&) {
      if (!armed.exchange(false)) return;
      held.Open();
      release.Wait();
    };
    svc->SetTestHooks(h);
  });
  ASSERT_TRUE(WaitLeader(s));
  ASSERT_TRUE(s->PutCluster(ClusterNamed("p", 1)).ok());
  armed = true;
  auto first = std::async(std::launch::async, [&] { return s->AddNodes("p", {NodeAt(1)}); });
  ASSERT_TRUE(held.Wait());
  auto add = std::async(std::launch::async, [&] { return s->AddNodes("p", {NodeAt(7)}); });
  ASSERT_TRUE(WaitUntil([&] { return s->QueuedWrites("p") == 1; }, milliseconds(5000)));
  auto put =
      std::async(std::launch::async, [&] { return s->PutCluster(ClusterNamed("p", 5, 100)); });
  ASSERT_TRUE(WaitUntil([&] { return s->QueuedWrites("p") == 2; }, milliseconds(5000)));
  release.Open();
  ASSERT_TRUE(first.get().ok());
  Result<WriteAck> a = add.get(), p = put.get();
  ASSERT_TRUE(a.ok() && p.ok());
  EXPECT_LT(a->version, p->version);
  std::lock_guard lock(seen_mu);
  ASSERT_TRUE(nodes_at_version.count(a->version));
  EXPECT_EQ(nodes_at_version[a->version], 3u) << "the add's version must hold the added node";
  EXPECT_EQ(nodes_at_version[p->version], 5u);
}

// Item 11: an exception inside a write batch answers its callers and leaves
// the cluster writable, for the write queued behind it too.
TEST_F(ServiceFaultsTest, ExceptionInWriteBatchDoesNotWedgeTheCluster) {
  std::atomic<bool> armed{false};
  Gate held, release;
  ClusterService* s = StartService("127.0.0.1:1", [&](ClusterService* svc) {
    ClusterService::TestHooks h;
    h.before_save = [&](const std::string&) {
      if (!armed.exchange(false)) return;
      held.Open();
      release.Wait();
      throw std::runtime_error("injected");
    };
    svc->SetTestHooks(h);
  });
  ASSERT_TRUE(WaitLeader(s));
  ASSERT_TRUE(s->PutCluster(ClusterNamed("e", 1)).ok());
  armed = true;
  auto first = std::async(std::launch::async, [&] {
    try {
      return s->AddNodes("e", {NodeAt(2)}).ok() ? 1 : 0;
    } catch (const std::exception&) {
      return -1;  // (before the fix it escaped to the caller)
    }
  });
  ASSERT_TRUE(held.Wait());
  // Queued behind the batch that will throw.
  auto next = std::make_shared<std::promise<bool>>();
  std::future<bool> done = next->get_future();
  std::thread([s, next] { next->set_value(s->AddNodes("e", {NodeAt(3)}).ok()); }).detach();
  ASSERT_TRUE(WaitUntil([&] { return s->QueuedWrites("e") == 1; }, milliseconds(5000)));
  release.Open();
  EXPECT_EQ(first.get(), 0) << "the failed batch answers its caller with an error";
  if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "the cluster's writes hang after an exception in a batch";
    std::fflush(nullptr);
    std::_Exit(1);  // the wedged writer cannot be joined
  }
  EXPECT_TRUE(done.get());
  EXPECT_EQ(s->GetCluster("e")->nodes.size(), 2u);
  EXPECT_EQ(s->PerNameStateCount(), 0u);
}

// Item 11: per-name write state is dropped when idle (random names do not
// grow the leader's memory).
TEST_F(ServiceFaultsTest, PerNameWriteStateShrinksWhenIdle) {
  ClusterService* s = StartService("127.0.0.1:1");
  ASSERT_TRUE(WaitLeader(s));
  for (int i = 0; i < 300; ++i) {
    std::string name = "random-" + std::to_string(i);
    EXPECT_TRUE(s->SetClusterOnline(name, true).status().IsNotFound());
    EXPECT_TRUE(s->DeleteCluster(name).status().IsNotFound());
  }
  ASSERT_TRUE(s->PutCluster(ClusterNamed("kept", 1)).ok());
  ASSERT_TRUE(s->DeleteCluster("kept").ok());
  EXPECT_EQ(s->PerNameStateCount(), 0u);
}

// Item 11: a delete ack carries the deletion's zxid, so a follower that saw
// the re-create (and maybe never the delete) ends its wait.
TEST_F(ServiceFaultsTest, DeleteAckVersionSatisfiesFollowerAfterRecreate) {
  ClusterService* leader = StartService("127.0.0.1:1");
  ASSERT_TRUE(WaitLeader(leader));
  ClusterService* follower = StartService("127.0.0.1:2");
  ASSERT_TRUE(WaitReady(follower));
  Result<WriteAck> created = leader->PutCluster(ClusterNamed("d", 1));
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(follower->WaitUntilApplied(created.value(), milliseconds(5000)));
  Result<WriteAck> del = leader->DeleteCluster("d");
  ASSERT_TRUE(del.ok());
  EXPECT_GT(del->version, created->version) << "a delete ack must carry its zxid";
  Result<WriteAck> again = leader->PutCluster(ClusterNamed("d", 2));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(follower->WaitUntilApplied(again.value(), milliseconds(5000)));
  EXPECT_TRUE(follower->WaitUntilApplied(del.value(), milliseconds(2000)))
      << "the follower holds a newer incarnation; the delete is behind it";
  EXPECT_TRUE(leader->WaitUntilApplied(del.value(), milliseconds(100)));
}

}  // namespace
}  // namespace jcm::testing
