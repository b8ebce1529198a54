// jcmctl: the jcm command-line client (docs/jcmctl.md).
//
//   jcmctl [--server URL,...] [--token T | --token-file F] [--cacert FILE]
//          [-o table|json] COMMAND
//
// Global options may also follow the command. Exit codes: 0 ok, 1 refused
// or failed, 2 usage (exit_codes.h).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tools/jcmctl/commands.h"
#include "tools/jcmctl/exit_codes.h"

namespace jcm::ctl {
namespace {

std::string Trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// --token, else --token-file, else $JCM_TOKEN, else none.
Result<std::string> ResolveToken(const std::string& flag, const std::string& file) {
  if (!flag.empty()) return flag;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return Status::InvalidArgument("--token-file: cannot read '" + file + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string token = Trimmed(ss.str());
    if (token.empty()) return Status::InvalidArgument("--token-file: '" + file + "' is empty");
    return token;
  }
  const char* env = std::getenv("JCM_TOKEN");
  return std::string(env ? env : "");
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "jcmctl: %s\nRun with --help for more information.\n", message.c_str());
  return kExitUsage;
}

int Main(int argc, char** argv) {
  CLI::App app{"jcmctl: operate a jcm name service (clusters, nodes, health)", "jcmctl"};
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the command too
  app.set_version_flag("--version", "jcmctl " JCM_VERSION);

  std::string servers_text, token_flag, token_file, cacert, output = "table";
  app.add_option("--server,-s", servers_text,
                 "jcm-server API addresses, URL or HOST:PORT, comma-separated; tried in order "
                 "(env JCM_SERVER, default 127.0.0.1:8600)");
  auto* token_opt = app.add_option("--token", token_flag,
                                   "API token, sent as 'Authorization: Bearer' (env JCM_TOKEN)");
  app.add_option("--token-file", token_file, "read the API token from this file")
      ->excludes(token_opt);
  app.add_option("--cacert", cacert,
                 "CA certificates (PEM) that https:// servers' certificates must chain to "
                 "(env JCM_CACERT; default: the system's store)");
  app.add_option("--output,-o", output, "output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();

  auto* status = app.add_subcommand(
      "status", "leader, members, ZooKeeper state and each member's checker share");
  auto* ls = app.add_subcommand("ls", "clusters with node counts by health");

  std::string name;
  auto* get = app.add_subcommand("get", "a cluster and its nodes");
  get->add_option("NAME", name, "cluster name")->required();

  auto* history = app.add_subcommand(
      "history", "a cluster's recent health transitions, newest first (from its checker)");
  history->add_option("NAME", name, "cluster name")->required();

  std::string file;
  auto* apply = app.add_subcommand("apply", "create or replace a cluster from a JCM document");
  apply->add_option("-f,--file", file, "the cluster document (JSON); '-' reads stdin")->required();

  AddNodeArgs add;
  auto* add_node = app.add_subcommand("add-node", "add a node (or replace the node of that spec)");
  add_node->add_option("NAME", add.name, "cluster name")->required();
  add_node->add_option("IP", add.ip, "the node's IPv4 or IPv6 address")->required();
  add_node->add_option("PORTS", add.ports, "PROTO:PORT[,PROTO:PORT], e.g. HTTP:8080,TCP:9090")
      ->required();
  add_node->add_option("--weight,-w", add.weight, "weight for weighted policies (1-10000)");
  add_node->add_option("--udata", add.udata, "opaque user data stored with the node");

  std::vector<std::string> specs;
  auto* rm_node = app.add_subcommand("rm-node", "remove nodes by spec");
  rm_node->add_option("NAME", name, "cluster name")->required();
  rm_node->add_option("SPEC", specs, "node spec, e.g. '10.0.0.7|HTTP:8080' (quote the |)")
      ->required();

  std::string spec;
  auto* online = app.add_subcommand("online", "switch a cluster, or one node of it, online");
  auto* offline = app.add_subcommand(
      "offline", "switch a cluster, or one node of it, offline (clients stop picking it)");
  for (auto* sub : {online, offline}) {
    sub->add_option("NAME", name, "cluster name")->required();
    sub->add_option("SPEC", spec, "a node spec; without it, the whole cluster");
  }

  auto* rm = app.add_subcommand("rm", "delete a cluster");
  rm->add_option("NAME", name, "cluster name")->required();

  WatchArgs watch_args;
  auto* watch = app.add_subcommand(
      "watch", "print one line per node change (added, removed, down, up, offline, online)");
  watch->add_option("NAME", watch_args.name, "cluster name")->required();
  watch->add_option("--wait-ms", watch_args.wait_ms, "long-poll wait per request")
      ->check(CLI::Range(1000, 30000))
      ->capture_default_str();
  watch
      ->add_option("--max-changes", watch_args.max_changes,
                   "exit after printing this many changes (0: run until interrupted)")
      ->check(CLI::NonNegativeNumber);

  PickArgs pick_args;
  auto* pick = app.add_subcommand("pick", "pick nodes as an application would (libjcm-subscriber)");
  pick->add_option("NAME", pick_args.name, "cluster name")->required();
  pick->add_option("--policy,-p", pick_args.policy,
                   "rr: round-robin, wrr: weighted round-robin, hash: consistent hash of --key")
      ->check(CLI::IsMember({"rr", "wrr", "hash"}))
      ->capture_default_str();
  pick->add_option("--key,-k", pick_args.key, "the key for --policy hash");
  pick->add_option("--count,-n", pick_args.count, "number of picks")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  pick->add_option("--proto", pick_args.proto, "protocol of the picked port")
      ->check(CLI::IsMember({"any", "http", "tcp"}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  if (servers_text.empty()) {
    const char* env = std::getenv("JCM_SERVER");
    servers_text = env && *env ? env : "127.0.0.1:8600";
  }
  Result<std::vector<ServerUrl>> servers = ParseServerList(servers_text);
  if (!servers.ok()) return Usage(servers.status().message());
  Result<std::string> token = ResolveToken(token_flag, token_file);
  if (!token.ok()) return Usage(token.status().message());

  Context ctx;
  ctx.servers = std::move(servers).value();
  ctx.token = std::move(token).value();
  if (cacert.empty()) {
    const char* env = std::getenv("JCM_CACERT");
    cacert = env ? env : "";
  }
  if (!cacert.empty() && !std::ifstream(cacert).good()) {
    return Usage("--cacert: cannot read '" + cacert + "'");
  }
  ctx.ca_file = cacert;
  ctx.json = output == "json";
  ctx.color = !ctx.json && isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;

  if (*status) return RunStatus(ctx);
  if (*ls) return RunList(ctx);
  if (*get) return RunGet(ctx, name);
  if (*history) return RunHistory(ctx, name);
  if (*apply) return RunApply(ctx, file);
  if (*add_node) return RunAddNode(ctx, add);
  if (*rm_node) return RunRemoveNode(ctx, name, specs);
  if (*online) return RunSetOnline(ctx, name, spec, true);
  if (*offline) return RunSetOnline(ctx, name, spec, false);
  if (*rm) return RunRemove(ctx, name);
  if (*watch) return RunWatch(ctx, watch_args);
  if (*pick) {
    if (pick_args.policy == "hash" && pick_args.key.empty()) {
      return Usage("pick: --policy hash needs --key");
    }
    return RunPick(ctx, pick_args);
  }
  return Usage("no command");
}

}  // namespace
}  // namespace jcm::ctl

int main(int argc, char** argv) {
  // A TLS write to a server that closed (OpenSSL uses write(2)) must be an
  // error, not the end of the process.
  signal(SIGPIPE, SIG_IGN);
  return jcm::ctl::Main(argc, argv);
}
