// Tests of the test support itself: a real ZooKeeper starts, answers, stops
// and comes back on the same port with its data; targets answer as told.
#include <gtest/gtest.h>

#include <zookeeper/zookeeper.h>

#include <filesystem>

#include "tests/support/child_process.h"
#include "tests/support/http_json.h"
#include "tests/support/http_target.h"
#include "tests/support/test_env.h"
#include "tests/support/zk_server.h"

namespace jcm::testing {
namespace {

TEST(FreeLoopbackPort, ReturnsABindablePort) {
  int a = FreeLoopbackPort();
  ASSERT_GT(a, 0);
  TcpTarget t("127.0.0.1", a);
  EXPECT_TRUE(t.Start());
  // Taken now: a second listener on it must fail.
  TcpTarget t2("127.0.0.1", a);
  EXPECT_FALSE(t2.Start());
}

// Synchronous ZooKeeper C client calls, enough to prove the data survives.
class ZkHandle {
 public:
  explicit ZkHandle(const std::string& connect) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zh_ = zookeeper_init(connect.c_str(), nullptr, 5000, nullptr, nullptr, 0);
  }
  ~ZkHandle() {
    if (zh_ != nullptr) zookeeper_close(zh_);
  }
  bool Connected() {
    return WaitUntil([&] { return zoo_state(zh_) == ZOO_CONNECTED_STATE; },
                     std::chrono::milliseconds(5000));
  }
  int Create(const std::string& path, const std::string& value) {
    return zoo_create(zh_, path.c_str(), value.data(), static_cast<int>(value.size()),
                      &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
  }
  std::string Get(const std::string& path) {
    char buf[256];
    int len = sizeof(buf);
    if (zoo_get(zh_, path.c_str(), 0, buf, &len, nullptr) != ZOK) return "<none>";
    return std::string(buf, static_cast<size_t>(len));
  }

 private:
  zhandle_t* zh_ = nullptr;
};

TEST(ZkServer, StartsAnswersStopsAndRestartsWithDataKept) {
  ZkServer zk;
  std::string error;
  ASSERT_TRUE(zk.Start(&error)) << error;
  EXPECT_EQ(zk.FourLetterWord("ruok"), "imok");
  std::string srvr = zk.FourLetterWord("srvr");
  EXPECT_NE(srvr.find("Mode: standalone"), std::string::npos) << srvr;
  {
    ZkHandle h(zk.connect_string());
    ASSERT_TRUE(h.Connected());
    ASSERT_EQ(h.Create("/kept", "value-1"), ZOK);
    EXPECT_EQ(h.Get("/kept"), "value-1");
  }

  int port = zk.port();
  zk.Stop();
  EXPECT_FALSE(zk.running());
  EXPECT_EQ(zk.FourLetterWord("ruok", std::chrono::milliseconds(300)), "");

  ASSERT_TRUE(zk.Start(&error)) << error;
  EXPECT_EQ(zk.port(), port);
  EXPECT_TRUE(zk.Answers());
  ZkHandle h(zk.connect_string());
  ASSERT_TRUE(h.Connected());
  EXPECT_EQ(h.Get("/kept"), "value-1");
}

TEST(ZkServer, KillIsImmediate) {
  ZkServer zk;
  std::string error;
  ASSERT_TRUE(zk.Start(&error)) << error;
  auto start = std::chrono::steady_clock::now();
  zk.Kill();
  EXPECT_LT(MsSince(start), 2000);
  EXPECT_FALSE(zk.Answers());
}

TEST(HttpTarget, AnswersWithTheStatusAndDelaySet) {
  int port = FreeLoopbackPort("127.0.0.1");
  HttpTarget t("127.0.0.1", port, "/health");
  ASSERT_TRUE(t.Start());
  std::string addr = "127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(HttpGet(addr, "/health").status, 200);
  t.set_status(503);
  EXPECT_EQ(HttpGet(addr, "/health").status, 503);
  t.set_status(200);
  t.set_delay(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(HttpGet(addr, "/health").status, 200);
  EXPECT_GE(MsSince(start), 300);
  EXPECT_EQ(t.hits(), 3);
  t.Stop();
  EXPECT_EQ(HttpGet(addr, "/health", std::chrono::milliseconds(300)).status, 0);
  ASSERT_TRUE(t.Start());  // again, on the same port
  t.set_delay(std::chrono::milliseconds(0));
  EXPECT_EQ(HttpGet(addr, "/health").status, 200);
}

TEST(ChildProcess, StopsByPidAndReportsExit) {
  TempDir dir;
  ChildProcess p;
  std::string error;
  ASSERT_TRUE(p.Start({"/bin/sleep", "30"}, dir.path() + "/sleep.log", {}, &error)) << error;
  EXPECT_TRUE(p.running());
  EXPECT_FALSE(p.Wait(std::chrono::milliseconds(100)));
  EXPECT_TRUE(p.Stop(std::chrono::milliseconds(2000)));  // sleep dies on SIGTERM
  EXPECT_FALSE(p.running());
  EXPECT_TRUE(WIFSIGNALED(p.last_status()));
}

}  // namespace
}  // namespace jcm::testing
