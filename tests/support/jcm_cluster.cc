#include "tests/support/jcm_cluster.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace jcm::testing {

JcmCluster::JcmCluster(JcmClusterOptions options) : options_(std::move(options)), dir_("jcm-it") {}

JcmCluster::~JcmCluster() {
  // Servers first, so they do not spend their last moments reconnecting.
  for (auto& s : servers_) s->Kill();
}

bool JcmCluster::Start(std::string* error) {
  if (options_.zk_connect.empty()) {
    zk_ = std::make_unique<ZkServer>();
    if (!zk_->Start(error)) return false;
  }
  const std::string zk_connect =
      options_.zk_connect.empty() ? zk_->connect_string() : options_.zk_connect;
  for (int i = 0; i < options_.instances; ++i) {
    JcmServerOptions o;
    o.zk_connect = zk_connect;
    o.zk_root = options_.zk_root;
    o.session_timeout_ms = options_.session_timeout_ms;
    o.extra_args = options_.extra_args;
    if (!options_.write_token.empty()) {
      std::ofstream(tokens_file())
          << "write " << options_.write_token << "\n"
          << (options_.read_token.empty() ? "" : "read ") << options_.read_token << "\n";
      o.extra_args.push_back("--tokens-file");
      o.extra_args.push_back(tokens_file());
    }
    o.log_dir = dir_.path();
    servers_.push_back(std::make_unique<JcmServerProcess>(o));
  }
  // Started one after the other so member sequence follows index: the first
  // one is the first leader, which keeps test logs easy to read.
  for (auto& s : servers_) {
    if (!s->Start(error)) return false;
  }
  if (WaitForLeader(std::chrono::milliseconds(15000)) < 0) {
    *error = "no agreed leader within 15 s";
    return false;
  }
  return true;
}

std::optional<nlohmann::json> JcmCluster::Status(int i) const {
  HttpReply r =
      HttpGetAs(address(i), "/sys/status", options_.read_token, std::chrono::milliseconds(1000));
  if (r.status != 200 || !r.data().is_object()) return std::nullopt;
  return r.data();
}

int JcmCluster::AgreedLeader(const std::vector<int>& skip) const {
  int leader = -1;
  std::string leader_address;
  for (int i = 0; i < size(); ++i) {
    if (std::find(skip.begin(), skip.end(), i) != skip.end()) continue;
    auto st = Status(i);
    if (!st) return -1;
    const auto& l = (*st)["leader"];
    if (!l.is_string()) return -1;
    if (leader_address.empty()) {
      leader_address = l.get<std::string>();
    } else if (leader_address != l.get<std::string>()) {
      return -1;
    }
    if ((*st).value("isLeader", false)) leader = i;
  }
  if (leader < 0 || leader_address != address(leader)) return -1;
  return leader;
}

int JcmCluster::WaitForLeader(std::chrono::milliseconds timeout,
                              const std::vector<int>& skip) const {
  int leader = -1;
  WaitUntil(
      [&] {
        leader = AgreedLeader(skip);
        return leader >= 0;
      },
      timeout, std::chrono::milliseconds(50));
  return leader;
}

int JcmCluster::AFollower(int leader, const std::vector<int>& skip) const {
  for (int i = 0; i < size(); ++i) {
    if (i != leader && std::find(skip.begin(), skip.end(), i) == skip.end()) return i;
  }
  return -1;
}

int JcmCluster::Checker(const std::string& name) const {
  for (int i = 0; i < size(); ++i) {
    std::optional<nlohmann::json> s = Status(i);
    if (!s || !s->contains("health")) continue;
    for (const auto& n : (*s)["health"]["checking"]) {
      if (n == name) return i;
    }
  }
  return -1;
}

std::optional<nlohmann::json> JcmCluster::GetCluster(int i, const std::string& name) const {
  HttpReply r =
      HttpGetAs(address(i), "/c/" + name, options_.read_token, std::chrono::milliseconds(5000));
  if (r.status != 200 || !r.data().is_object()) return std::nullopt;
  return r.data();
}

long long JcmCluster::ClusterVersion(int i, const std::string& name) const {
  auto c = GetCluster(i, name);
  if (!c || !c->contains("version") || !(*c)["version"].is_number_integer()) return -1;
  return (*c)["version"].get<long long>();
}

std::string JcmCluster::AllLogs() const {
  std::ostringstream out;
  for (const auto& s : servers_) {
    std::string log = s->log();
    if (log.size() > 60000) log = "...\n" + log.substr(log.size() - 60000);
    out << "===== jcm-server " << s->address() << " log =====\n" << log << "\n";
  }
  if (zk_) {
    std::string log = zk_->log();
    if (log.size() > 4000) log = "...\n" + log.substr(log.size() - 4000);
    out << "===== zookeeper " << zk_->connect_string() << " =====\n" << log << "\n";
  }
  return out.str();
}

void JcmClusterTest::SetUp() {
  cluster_ = std::make_unique<JcmCluster>(options_);
  std::string error;
  bool started = cluster_->Start(&error);
  if (!started) {
    FAIL() << "cluster did not start: " << error << "\n" << cluster_->AllLogs();
  }
}

void JcmClusterTest::TearDown() {
  if (HasFailure() && cluster_) {
    std::cerr << cluster_->AllLogs();
  }
  cluster_.reset();
}

nlohmann::json NodeDoc(const std::string& ip, int http_port, int tcp_port) {
  nlohmann::json protos = nlohmann::json::array();
  protos.push_back({{"port", http_port}, {"proto", "HTTP"}});
  if (tcp_port > 0) protos.push_back({{"port", tcp_port}, {"proto", "TCP"}});
  return {{"ip", ip}, {"protos", protos}, {"online", "ONLINE"}};
}

std::string NodeSpec(const std::string& ip, int http_port, int tcp_port) {
  std::string spec = ip + "|HTTP:" + std::to_string(http_port);
  if (tcp_port > 0) spec += "|TCP:" + std::to_string(tcp_port);
  return spec;
}

std::string NthIp(int i) {
  return "10." + std::to_string((i >> 16) & 0xff) + "." + std::to_string((i >> 8) & 0xff) + "." +
         std::to_string(i & 0xff);
}

nlohmann::json ClusterDoc(const std::string& name, const nlohmann::json& nodes,
                          const std::string& check_type) {
  return {{"name", name},
          {"online", "ONLINE"},
          {"checkType", check_type},
          {"checkFile", "/health"},
          {"nodes", nodes}};
}

std::vector<std::string> SpecsOf(const nlohmann::json& cluster) {
  std::vector<std::string> specs;
  if (!cluster.contains("nodes")) return specs;
  for (const auto& n : cluster["nodes"]) {
    std::string ip = n.value("ip", "");
    int http = 0, tcp = 0;
    for (const auto& p : n.value("protos", nlohmann::json::array())) {
      if (p.value("proto", "") == "HTTP") http = p.value("port", 0);
      if (p.value("proto", "") == "TCP") tcp = p.value("port", 0);
    }
    std::string spec = ip;
    if (http > 0) spec += "|HTTP:" + std::to_string(http);
    if (tcp > 0) spec += "|TCP:" + std::to_string(tcp);
    specs.push_back(spec);
  }
  std::sort(specs.begin(), specs.end());
  return specs;
}

}  // namespace jcm::testing
