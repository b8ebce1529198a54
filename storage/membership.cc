#include "storage/membership.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

namespace jcm {

namespace {
constexpr char kPrefix[] = "member-";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Membership::Membership(ZkClient* zk, std::string root, std::string self_address)
    : zk_(zk),
      root_(std::move(root)),
      self_address_(std::move(self_address)),
      started_ms_(NowMs()) {}

int64_t Membership::SeqOf(const std::string& id) {
  size_t pos = id.find_last_not_of("0123456789");
  if (pos == std::string::npos || pos + 1 >= id.size()) return -1;
  return std::stoll(id.substr(pos + 1));
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
  Result<std::string> path = zk_->Create(ServersDir() + "/" + kPrefix, doc.dump(),
                                         ZkClient::kEphemeral | ZkClient::kSequential);
  if (!path.ok()) return path.status();
  std::lock_guard lock(mu_);
  self_path_ = path.value();
  return Status::Ok();
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
    if (m.seq < 0) continue;  // not one of ours
    Result<std::string> data = zk_->Get(ServersDir() + "/" + id, nullptr, false);
    if (!data.ok()) {
      if (data.status().IsNotFound()) continue;  // left while we looked
      return data.status();
    }
    nlohmann::json doc = nlohmann::json::parse(data.value(), nullptr, false);
    if (doc.is_object()) {
      m.address = doc.value("address", "");
      m.started_ms = doc.value("started", int64_t{0});
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
