#include "storage/membership.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace jcm {

namespace {
constexpr char kPrefix[] = "member-";

std::string NewToken() {
  std::random_device rd;
  uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{:016x}", v);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Membership::Membership(ZkApi* zk, std::string root, std::string self_address)
    : zk_(zk),
      root_(std::move(root)),
      self_address_(std::move(self_address)),
      started_ms_(NowMs()) {}

int64_t Membership::SeqOf(const std::string& id) {
  size_t pos = id.find_last_not_of("0123456789");
  if (pos == std::string::npos || pos + 1 >= id.size()) return -1;
  // ZooKeeper's sequence is a signed 32-bit counter printed in 10 digits;
  // anything over 18 digits is not one of ours and might not fit.
  if (id.size() - (pos + 1) > 18) return -1;
  int64_t seq = 0;
  for (size_t i = pos + 1; i < id.size(); ++i) seq = seq * 10 + (id[i] - '0');
  return seq;
}

void Membership::SetLoseCreateReplyForTest(std::function<bool()> hook) {
  std::lock_guard lock(mu_);
  lose_reply_ = std::move(hook);
}

void Membership::ReportSkipped(const std::string& id, const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (!reported_.insert(id).second) return;
  }
  spdlog::warn("event=member_skipped id=\"{}\" reason=\"{}\"", id, why);
}

Result<std::string> Membership::FindOwn(const std::string& token) {
  Result<std::vector<std::string>> children = zk_->GetChildren(ServersDir(), false);
  if (!children.ok()) return children.status();
  const std::string prefix = std::string(kPrefix) + token + "-";
  for (const std::string& id : children.value()) {
    if (id.rfind(prefix, 0) != 0) continue;
    std::string path = ServersDir() + "/" + id;
    ZkStat stat;
    Status s = zk_->Exists(path, &stat, false);
    if (s.ok() && stat.ephemeral_owner == zk_->session_id()) return path;
  }
  return Status::NotFound("no member znode with token " + token);
}

std::string Membership::self_path() const {
  std::lock_guard lock(mu_);
  return self_path_;
}

Status Membership::Register() {
  std::string old = self_path();
  if (!old.empty()) {
    ZkStat stat;
    if (zk_->Exists(old, &stat, false).ok() && stat.ephemeral_owner == zk_->session_id()) {
      return Status::Ok();  // still ours in this session
    }
  }
  nlohmann::json doc = {{"address", self_address_},
                        {"started", started_ms_},
                        {"pid", static_cast<int64_t>(getpid())}};
  const std::string token = NewToken();
  const std::string prefix = ServersDir() + "/" + kPrefix + token + "-";
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    Result<std::string> path =
        zk_->Create(prefix, doc.dump(), ZkApi::kEphemeral | ZkApi::kSequential);
    if (path.ok()) {
      std::function<bool()> lose;
      {
        std::lock_guard lock(mu_);
        lose = lose_reply_;
      }
      if (lose && lose()) path = Status::Unavailable("create " + prefix + ": reply lost (test)");
    }
    if (path.ok()) {
      std::lock_guard lock(mu_);
      self_path_ = path.value();
      return Status::Ok();
    }
    last = path.status();
    if (!last.IsUnavailable()) return last;
    // The create may have applied before the connection went: look for it
    // by its token once the session is back, before creating another.
    bool back = false;
    for (int waited = 0; waited < 10000 && zk_->state() != ZkState::kClosed; waited += 100) {
      if ((back = zk_->WaitConnected(100))) break;
    }
    if (!back) return last;
    Result<std::string> own = FindOwn(token);
    if (own.ok()) {
      spdlog::info("event=member_recovered path={}", own.value());
      std::lock_guard lock(mu_);
      self_path_ = own.value();
      return Status::Ok();
    }
    if (!own.status().IsNotFound()) last = own.status();
  }
  return last;
}

Status Membership::EnsureAddressUnused(int wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    Result<std::vector<std::string>> children = zk_->GetChildren(ServersDir(), false);
    if (!children.ok()) return children.status();
    std::string duplicate;
    for (const std::string& id : children.value()) {
      ZkStat stat;
      Result<std::string> data = zk_->Get(ServersDir() + "/" + id, &stat, false);
      if (data.status().IsUnavailable()) return data.status();
      if (!data.ok()) continue;  // gone meanwhile
      // Only an ephemeral znode of another session is a live member; a
      // persistent one under servers/ is not ours and never expires.
      if (stat.ephemeral_owner == 0 || stat.ephemeral_owner == zk_->session_id()) continue;
      nlohmann::json doc = nlohmann::json::parse(data.value(), nullptr, false);
      if (!doc.is_object()) continue;
      auto it = doc.find("address");
      if (it != doc.end() && it->is_string() && it->get<std::string>() == self_address_) {
        duplicate = id;
        break;
      }
    }
    if (duplicate.empty()) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Conflict("advertised address " + self_address_ +
                              " is already a live member (" + ServersDir() + "/" + duplicate +
                              "); another jcm-server runs with this --advertise: give each "
                              "instance its own address");
    }
    // A killed predecessor's znode lasts until its session expires.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status Membership::Deregister() {
  std::string path;
  {
    std::lock_guard lock(mu_);
    path.swap(self_path_);
  }
  if (path.empty()) return Status::Ok();
  Status s = zk_->Delete(path, -1);
  return s.IsNotFound() ? Status::Ok() : s;
}

void Membership::Forget() {
  std::lock_guard lock(mu_);
  self_path_.clear();
}

Result<MemberView> Membership::Refresh() {
  Result<std::vector<std::string>> children = zk_->GetChildren(ServersDir(), true);
  if (!children.ok()) return children.status();
  MemberView view;
  std::string self = self_path();
  std::string self_id = self.empty() ? "" : self.substr(self.rfind('/') + 1);
  view.self_id = self_id;
  for (const std::string& id : children.value()) {
    MemberInfo m;
    m.id = id;
    m.seq = SeqOf(id);
    if (m.seq < 0) {
      if (id.rfind(kPrefix, 0) == 0) ReportSkipped(id, "no sequence number that fits 64 bits");
      continue;  // not one of ours
    }
    Result<std::string> data = zk_->Get(ServersDir() + "/" + id, nullptr, false);
    if (!data.ok()) {
      if (data.status().IsNotFound()) continue;  // left while we looked
      return data.status();
    }
    nlohmann::json doc = nlohmann::json::parse(data.value(), nullptr, false);
    auto address = doc.is_object() ? doc.find("address") : doc.end();
    if (!doc.is_object() || address == doc.end() || !address->is_string()) {
      ReportSkipped(id, "its document has no string \"address\"");
      continue;
    }
    m.address = address->get<std::string>();
    auto started = doc.find("started");
    if (started != doc.end() && started->is_number_integer()) {
      m.started_ms = started->get<int64_t>();
    }
    view.members.push_back(std::move(m));
  }
  std::sort(view.members.begin(), view.members.end(),
            [](const MemberInfo& a, const MemberInfo& b) { return a.seq < b.seq; });
  if (!view.members.empty()) {
    view.leader_id = view.members.front().id;
    view.leader_address = view.members.front().address;
    view.self_is_leader = !self_id.empty() && view.leader_id == self_id;
  }
  // Watch the member just below us: when it goes, we may be next.
  for (size_t i = 1; i < view.members.size(); ++i) {
    if (view.members[i].id == self_id) {
      Status s = zk_->Exists(ServersDir() + "/" + view.members[i - 1].id, nullptr, true);
      if (s.IsNotFound()) return Refresh();  // it left between the two reads
      if (!s.ok()) return s;
      break;
    }
  }
  return view;
}

}  // namespace jcm
