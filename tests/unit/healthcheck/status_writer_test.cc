// StatusWriter: queued writes never block the caller, only the latest report
// per cluster is written, transient failures are retried, permanent ones not.
#include "healthcheck/status_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace jcm {
namespace {

using namespace std::chrono_literals;

// Blocks every write until opened; records what it wrote.
class GatedSink : public StatusSink {
 public:
  Status WriteStatuses(const StatusReport& report) override {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    written_.push_back(report);
    cv_.notify_all();
    if (fail_next_ > 0) {
      --fail_next_;
      return fail_with_;
    }
    return Status::Ok();
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitEntered(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return entered_ >= n; });
  }
  bool WaitWritten(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return written_.size() >= n; });
  }
  std::vector<StatusReport> written() {
    std::lock_guard lock(mu_);
    return written_;
  }
  void FailNext(int n, Status s) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
    fail_with_ = std::move(s);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int entered_ = 0;
  int fail_next_ = 0;
  Status fail_with_;
  std::vector<StatusReport> written_;
};

StatusReport Report(const std::string& cluster, uint64_t round) {
  StatusReport r;
  r.cluster = cluster;
  r.owner = "me";
  r.round = round;
  return r;
}

TEST(StatusWriterTest, QueuesWithoutBlockingAndKeepsOnlyTheLatestPerCluster) {
  GatedSink sink;
  HealthCounters counters;
  StatusWriter writer(&sink, &counters);
  writer.Start();
  ASSERT_TRUE(writer.WriteStatuses(Report("a", 1)).ok());
  ASSERT_TRUE(sink.WaitEntered(1));  // the writer is stuck in a@1 now
  // The caller is never held up by the stuck write.
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t round = 2; round <= 50; ++round) {
    ASSERT_TRUE(writer.WriteStatuses(Report("a", round)).ok());
    ASSERT_TRUE(writer.WriteStatuses(Report("b", round)).ok());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_EQ(writer.pending(), 2u);
  EXPECT_EQ(counters.write_queue.load(), 2u);
  EXPECT_EQ(counters.writes_coalesced.load(), 96u);  // 48 replaced per cluster

  sink.Open();
  ASSERT_TRUE(sink.WaitWritten(3));
  std::vector<StatusReport> w = sink.written();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].round, 1u);
  EXPECT_EQ(w[1].cluster, "a");
  EXPECT_EQ(w[1].round, 50u);
  EXPECT_EQ(w[2].cluster, "b");
  EXPECT_EQ(w[2].round, 50u);
  writer.Stop();
  EXPECT_EQ(sink.written().size(), 3u);
}

TEST(StatusWriterTest, TransientFailureIsRetriedUnlessSuperseded) {
  GatedSink sink;
  sink.Open();
  sink.FailNext(2, Status::Unavailable("zookeeper gone"));
  HealthCounters counters;
  StatusWriter writer(&sink, &counters);
  writer.Start();
  writer.WriteStatuses(Report("a", 7));
  ASSERT_TRUE(sink.WaitWritten(3));
  std::vector<StatusReport> w = sink.written();
  for (const StatusReport& r : w) EXPECT_EQ(r.round, 7u);
  EXPECT_EQ(counters.write_errors.load(), 2u);
  EXPECT_EQ(writer.pending(), 0u);
}

TEST(StatusWriterTest, PermanentFailureIsNotRetried) {
  GatedSink sink;
  sink.Open();
  sink.FailNext(1, Status::TooLarge("report too large"));
  HealthCounters counters;
  StatusWriter writer(&sink, &counters);
  writer.Start();
  writer.WriteStatuses(Report("a", 1));
  writer.WriteStatuses(Report("b", 1));
  ASSERT_TRUE(sink.WaitWritten(2));
  std::vector<StatusReport> w = sink.written();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].cluster, "a");
  EXPECT_EQ(w[1].cluster, "b");  // next in line, no retry of a in between
  writer.Stop();
  EXPECT_EQ(sink.written().size(), 2u);
  EXPECT_EQ(counters.write_errors.load(), 1u);
}

}  // namespace
}  // namespace jcm
