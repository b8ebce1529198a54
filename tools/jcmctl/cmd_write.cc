// jcmctl apply / add-node / rm-node / online / offline / rm: the write
// routes of docs/api.md. Any instance accepts them (followers forward).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "tools/jcmctl/commands.h"
#include "tools/jcmctl/exit_codes.h"
#include "tools/jcmctl/node_args.h"

namespace jcm::ctl {
namespace {

// Prints a write's outcome: the reply's data as JSON, or one line.
int Done(const Context& ctx, const nlohmann::json& data, const std::string& what) {
  if (ctx.json) {
    PrintJson(data);
  } else {
    std::string line = what;
    if (data.is_object() && data.contains("version")) {
      line += " (version " + data["version"].dump() + ")";
    }
    std::printf("%s\n", line.c_str());
  }
  return kExitOk;
}

}  // namespace

int RunApply(const Context& ctx, const std::string& file) {
  std::string body;
  if (file == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Fail("apply", Status::NotFound("cannot read '" + file + "'"));
    std::ostringstream ss;
    ss << in.rdbuf();
    body = ss.str();
  }
  // The server validates the document and names what is wrong in it.
  Result<nlohmann::json> data = ctx.Api().Call("POST", "/c", body);
  if (!data.ok()) return Fail("apply", data.status());
  const std::string name = data->is_object() ? data->value("name", "") : "";
  return Done(ctx, data.value(), "applied cluster " + name);
}

int RunAddNode(const Context& ctx, const AddNodeArgs& args) {
  Result<nlohmann::json> protos = ParseProtoPorts(args.ports);
  if (!protos.ok()) {
    std::fprintf(stderr, "jcmctl add-node: %s\n", protos.status().message().c_str());
    return kExitUsage;
  }
  nlohmann::json nodes =
      nlohmann::json::array({NodeDocument(args.ip, protos.value(), args.weight, args.udata)});
  Result<nlohmann::json> data =
      ctx.Api().Call("POST", "/c/node/" + PathEscape(args.name), nodes.dump());
  if (!data.ok()) return Fail("add-node " + args.name, data.status());
  return Done(ctx, data.value(), "added node " + args.ip + " to " + args.name);
}

int RunRemoveNode(const Context& ctx, const std::string& name,
                  const std::vector<std::string>& specs) {
  Result<nlohmann::json> data =
      ctx.Api().Call("DELETE", "/c/node/" + PathEscape(name), nlohmann::json(specs).dump());
  if (!data.ok()) return Fail("rm-node " + name, data.status());
  return Done(ctx, data.value(),
              "removed " + std::to_string(specs.size()) + " node(s) from " + name);
}

int RunSetOnline(const Context& ctx, const std::string& name, const std::string& spec,
                 bool online) {
  const char* word = online ? "online" : "offline";
  ApiClient api = ctx.Api();
  const nlohmann::json node_body = {{"spec", spec}, {"online", online}};
  Result<nlohmann::json> data =
      spec.empty() ? api.Call("POST", "/c/online/" + PathEscape(name), online ? "true" : "false")
                   : api.Call("POST", "/c/node/online/" + PathEscape(name), node_body.dump());
  if (!data.ok()) return Fail(std::string(word) + " " + name, data.status());
  return Done(ctx, data.value(),
              (spec.empty() ? "cluster " + name : "node " + spec + " of " + name) + " is " + word);
}

int RunRemove(const Context& ctx, const std::string& name) {
  Result<nlohmann::json> data = ctx.Api().Call("DELETE", "/c/" + PathEscape(name));
  if (!data.ok()) return Fail("rm " + name, data.status());
  return Done(ctx, data.value(), "removed cluster " + name);
}

}  // namespace jcm::ctl
