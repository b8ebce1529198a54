#include "tests/support/zk_ensemble.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/zk_server.h"

namespace jcm::testing {

namespace {

const char* kZooKeeperJar = "/usr/share/java/zookeeper.jar";

std::string JavaBinary() {
  for (const char* candidate : {"/usr/bin/java", "/usr/lib/jvm/default-java/bin/java"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "/usr/bin/java";
}

bool Skipped(const std::vector<int>& skip, int i) {
  return std::find(skip.begin(), skip.end(), i) != skip.end();
}

}  // namespace

ZkEnsemble::ZkEnsemble(ZkEnsembleOptions options) : options_(options), dir_("jcm-zkens") {
  // Every port distinct: FreeLoopbackPort only knows the port was free a
  // moment ago, so two calls may hand out the same one.
  std::set<int> taken;
  auto port = [&] {
    for (int attempt = 0; attempt < 50; ++attempt) {
      int p = FreeLoopbackPort();
      if (p != 0 && taken.insert(p).second) return p;
    }
    return 0;
  };
  for (int i = 0; i < options_.members; ++i) {
    auto m = std::make_unique<Member>();
    m->dir = dir_.path() + "/member" + std::to_string(i + 1);
    m->config_path = m->dir + "/zoo.cfg";
    m->log_path = m->dir + "/zookeeper.log";
    m->client_port = port();
    m->peer_port = port();
    m->election_port = port();
    members_.push_back(std::move(m));
  }
  for (int i = 0; i < size(); ++i) {
    Member& m = *members_[static_cast<size_t>(i)];
    std::filesystem::create_directories(m.dir + "/data");
    // ZooKeeper ids are 1-based; member i is server.(i+1).
    std::ofstream(m.dir + "/data/myid") << (i + 1) << "\n";
    std::ofstream cfg(m.config_path);
    cfg << "tickTime=" << options_.tick_time_ms << "\n"
        << "initLimit=" << options_.init_limit << "\n"
        << "syncLimit=" << options_.sync_limit << "\n"
        << "dataDir=" << m.dir << "/data\n"
        << "clientPort=" << m.client_port << "\n"
        << "clientPortAddress=127.0.0.1\n"
        << "admin.enableServer=false\n"
        << "4lw.commands.whitelist=srvr,stat,ruok,mntr,cons\n"
        << "autopurge.snapRetainCount=3\n"
        << "autopurge.purgeInterval=0\n";
    if (options_.min_session_timeout_ms > 0)
      cfg << "minSessionTimeout=" << options_.min_session_timeout_ms << "\n";
    if (options_.max_session_timeout_ms > 0)
      cfg << "maxSessionTimeout=" << options_.max_session_timeout_ms << "\n";
    for (int j = 0; j < size(); ++j) {
      const Member& peer = *members_[static_cast<size_t>(j)];
      cfg << "server." << (j + 1) << "=127.0.0.1:" << peer.peer_port << ":" << peer.election_port
          << "\n";
    }
  }
}

ZkEnsemble::~ZkEnsemble() {
  for (auto& m : members_) m->process.Kill();
}

std::string ZkEnsemble::connect_string() const {
  std::string s;
  for (const auto& m : members_) {
    if (!s.empty()) s += ",";
    s += "127.0.0.1:" + std::to_string(m->client_port);
  }
  return s;
}

int ZkEnsemble::client_port(int i) const { return members_[static_cast<size_t>(i)]->client_port; }

pid_t ZkEnsemble::pid(int i) const { return members_[static_cast<size_t>(i)]->process.pid(); }

bool ZkEnsemble::running(int i) { return members_[static_cast<size_t>(i)]->process.running(); }

bool ZkEnsemble::Launch(int i, std::string* error) {
  Member& m = *members_[static_cast<size_t>(i)];
  if (m.client_port == 0 || m.peer_port == 0 || m.election_port == 0) {
    *error = "no free loopback ports for member " + std::to_string(i);
    return false;
  }
  if (m.process.running()) {
    *error = "member " + std::to_string(i) + " already running";
    return false;
  }
  std::vector<std::string> argv = {JavaBinary(),
                                   options_.max_heap,
                                   "-XX:+UseSerialGC",
                                   "-XX:TieredStopAtLevel=1",
                                   "-Dzookeeper.jmx.log4j.disable=true",
                                   "-cp",
                                   kZooKeeperJar,
                                   "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                                   m.config_path};
  return m.process.Start(argv, m.log_path, {}, error);
}

bool ZkEnsemble::Start(std::string* error) {
  // All at once: a member alone waits for a quorum anyway.
  for (int i = 0; i < size(); ++i) {
    if (!Launch(i, error)) return false;
  }
  if (WaitForQuorum(options_.start_timeout) < 0) {
    *error = "the ensemble formed no quorum within " +
             std::to_string(options_.start_timeout.count()) + " ms\n" + AllLogs();
    return false;
  }
  return true;
}

bool ZkEnsemble::StartMember(int i, std::string* error) {
  if (!Launch(i, error)) return false;
  Member& m = *members_[static_cast<size_t>(i)];
  bool serving = WaitUntil([&] { return !m.process.running() || !Mode(i).empty(); },
                           options_.start_timeout, std::chrono::milliseconds(100));
  if (!serving || !m.process.running()) {
    *error = "member " + std::to_string(i) + " did not join the ensemble; log:\n" + log(i);
    m.process.Kill();
    return false;
  }
  return true;
}

void ZkEnsemble::KillMember(int i) { members_[static_cast<size_t>(i)]->process.Kill(); }

void ZkEnsemble::StopMember(int i, std::chrono::milliseconds grace) {
  members_[static_cast<size_t>(i)]->process.Stop(grace);
}

bool ZkEnsemble::PauseMember(int i) {
  return members_[static_cast<size_t>(i)]->process.Signal(SIGSTOP);
}

bool ZkEnsemble::ResumeMember(int i) {
  return members_[static_cast<size_t>(i)]->process.Signal(SIGCONT);
}

std::string ZkEnsemble::FourLetterWord(int i, const std::string& command,
                                       std::chrono::milliseconds timeout) const {
  return FourLetterWordTo("127.0.0.1", client_port(i), command, timeout);
}

std::string ZkEnsemble::Mode(int i, std::chrono::milliseconds timeout) const {
  std::string reply = FourLetterWord(i, "srvr", timeout);
  size_t at = reply.find("Mode: ");
  if (at == std::string::npos) return "";
  size_t end = reply.find('\n', at);
  return reply.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

int ZkEnsemble::Leader(const std::vector<int>& skip) const {
  int leader = -1;
  for (int i = 0; i < size(); ++i) {
    if (Skipped(skip, i)) continue;
    std::string mode = Mode(i);
    if (mode == "leader") {
      if (leader >= 0) return -1;  // two say so: the old one has not noticed yet
      leader = i;
    } else if (mode != "follower") {
      return -1;
    }
  }
  return leader;
}

int ZkEnsemble::WaitForQuorum(std::chrono::milliseconds timeout,
                              const std::vector<int>& skip) const {
  int leader = -1;
  WaitUntil(
      [&] {
        leader = Leader(skip);
        return leader >= 0;
      },
      timeout, std::chrono::milliseconds(25));
  return leader;
}

int ZkEnsemble::MemberServingSession(const std::string& session_id,
                                     const std::vector<int>& skip) const {
  if (session_id.empty()) return -1;
  // "cons" prints one line per connection with ",sid=0x...," (Java's
  // Long.toHexString: no leading zeros, as jcm prints it).
  const std::string needle = "sid=" + session_id;
  for (int i = 0; i < size(); ++i) {
    if (Skipped(skip, i)) continue;
    std::string cons = FourLetterWord(i, "cons");
    size_t at = cons.find(needle);
    while (at != std::string::npos) {
      char next = at + needle.size() < cons.size() ? cons[at + needle.size()] : ',';
      if (next == ',' || next == ')') return i;  // not a longer id with this prefix
      at = cons.find(needle, at + 1);
    }
  }
  return -1;
}

std::string ZkEnsemble::log(int i) const {
  return ReadFileOrEmpty(members_[static_cast<size_t>(i)]->log_path);
}

std::string ZkEnsemble::AllLogs(size_t tail_bytes) const {
  std::ostringstream out;
  for (int i = 0; i < size(); ++i) {
    const Member& m = *members_[static_cast<size_t>(i)];
    std::string text = log(i);
    if (text.size() > tail_bytes) text = "...\n" + text.substr(text.size() - tail_bytes);
    out << "===== zookeeper member " << i << " (client 127.0.0.1:" << m.client_port << ", peer "
        << m.peer_port << ", election " << m.election_port << ", pid " << m.process.pid()
        << ") =====\n"
        << text << "\n";
  }
  return out.str();
}

}  // namespace jcm::testing
