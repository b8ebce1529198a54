#include "api/http_reply.h"

#include "model/cluster_codec.h"

namespace jcm {

using nlohmann::json;

int HttpStatusFor(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kConflict:
      return 409;
    case Status::Code::kTooLarge:
      return 413;
    case Status::Code::kUnavailable:
      return 503;
    // A write that cannot be forwarded: the client should retry elsewhere or
    // later, which is what 503 says.
    case Status::Code::kNotLeader:
      return 503;
    case Status::Code::kTimeout:
      return 504;
    case Status::Code::kUnauthenticated:
      return 401;
    case Status::Code::kPermissionDenied:
      return 403;
    case Status::Code::kInternal:
      return 500;
  }
  return 500;
}

std::string DumpJson(const json& doc) {
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpReply OkReply(const json& data) {
  json envelope = {{"code", 0}, {"msg", "ok"}, {"data", data}};
  return HttpReply{200, DumpJson(envelope)};
}

HttpReply OkReplyRaw(const std::string& data_json) {
  // Keys in nlohmann's (sorted) order, as OkReply writes them.
  return HttpReply{200, R"({"code":0,"data":)" + data_json + R"(,"msg":"ok"})"};
}

HttpReply ErrorReply(int http_status, const std::string& message) {
  json envelope = {{"code", -1}, {"msg", message}, {"data", nullptr}};
  return HttpReply{http_status, DumpJson(envelope)};
}

HttpReply ErrorReply(const Status& status) {
  return ErrorReply(HttpStatusFor(status.code()), status.message());
}

namespace {

// The "applied" array of an ack, as WriteAckJson builds it.
json OpsJson(const WriteDelta& delta) {
  json ops = json::array();
  for (const AppliedOp& op : delta.ops) {
    json o;
    switch (op.kind) {
      case AppliedOp::Kind::kAddNodes: {
        json nodes = json::array();
        for (const Node& n : op.nodes) nodes.push_back(EncodeNode(n, ClusterJsonForm::kStored));
        o["add"] = std::move(nodes);
        break;
      }
      case AppliedOp::Kind::kRemoveNodes:
        o["remove"] = op.specs;
        break;
      case AppliedOp::Kind::kSetClusterOnline:
        o["online"] = op.online;
        break;
      case AppliedOp::Kind::kSetNodeOnline:
        o["spec"] = op.specs.empty() ? "" : op.specs[0];
        o["online"] = op.online;
        break;
    }
    ops.push_back(std::move(o));
  }
  return ops;
}

}  // namespace

std::string WriteAckText(const WriteAck& ack) {
  if (ack.deleted || !ack.delta) return DumpJson(WriteAckJson(ack));
  const WriteDelta& delta = *ack.delta;
  std::call_once(delta.ops_text_once, [&] { delta.ops_text = DumpJson(OpsJson(delta)); });
  // nlohmann's (sorted) key order: applied, base, name, version, znodeVersion.
  std::string out = "{\"applied\":";
  out += delta.ops_text;
  out += ",\"base\":" + std::to_string(delta.base_version);
  out += ",\"name\":" + DumpJson(json(ack.name));
  out += ",\"version\":" + std::to_string(ack.version);
  out += ",\"znodeVersion\":" + std::to_string(delta.znode_version) + "}";
  return out;
}

json WriteAckJson(const WriteAck& ack) {
  if (ack.deleted) {
    // The deletion's zxid, when the store knows it: a follower then waits
    // for exactly this delete, not for a re-create that follows it.
    if (ack.version > 0) return {{"name", ack.name}, {"deleted", true}, {"version", ack.version}};
    return {{"name", ack.name}, {"deleted", true}};
  }
  json j = {{"name", ack.name}, {"version", ack.version}};
  if (ack.delta) {
    // Read-your-writes from the ack (a follower at `base` applies `applied`).
    j["base"] = ack.delta->base_version;
    j["znodeVersion"] = ack.delta->znode_version;
    j["applied"] = OpsJson(*ack.delta);
  }
  return j;
}

namespace {

// The delta of a leader's ack; null when absent or not understood (the
// follower then waits for its watch, as with an older leader).
std::shared_ptr<const WriteDelta> ParseDelta(const json& data) {
  auto base = data.find("base");
  auto zv = data.find("znodeVersion");
  auto applied = data.find("applied");
  if (base == data.end() || zv == data.end() || applied == data.end()) return nullptr;
  if (!base->is_number_integer() || !zv->is_number_integer() || !applied->is_array()) {
    return nullptr;
  }
  auto delta = std::make_shared<WriteDelta>();
  delta->base_version = base->get<int64_t>();
  delta->znode_version = zv->get<int32_t>();
  for (const json& o : *applied) {
    if (!o.is_object()) return nullptr;
    AppliedOp op;
    if (auto add = o.find("add"); add != o.end()) {
      if (!add->is_array()) return nullptr;
      op.kind = AppliedOp::Kind::kAddNodes;
      for (const json& n : *add) {
        Node node;
        if (!DecodeNode(n, "applied.add", &node).ok()) return nullptr;
        op.nodes.push_back(std::move(node));
      }
    } else if (auto rm = o.find("remove"); rm != o.end()) {
      if (!rm->is_array()) return nullptr;
      op.kind = AppliedOp::Kind::kRemoveNodes;
      for (const json& spec : *rm) {
        if (!spec.is_string()) return nullptr;
        op.specs.push_back(spec.get<std::string>());
      }
    } else {
      auto online = o.find("online");
      if (online == o.end() || !online->is_boolean()) return nullptr;
      op.online = online->get<bool>();
      auto spec = o.find("spec");
      if (spec == o.end()) {
        op.kind = AppliedOp::Kind::kSetClusterOnline;
      } else {
        if (!spec->is_string()) return nullptr;
        op.kind = AppliedOp::Kind::kSetNodeOnline;
        op.specs.push_back(spec->get<std::string>());
      }
    }
    delta->ops.push_back(std::move(op));
  }
  return delta;
}

}  // namespace

bool ParseWriteAck(const json& data, WriteAck* out) {
  if (!data.is_object()) return false;
  auto name = data.find("name");
  if (name == data.end() || !name->is_string()) return false;
  WriteAck ack;
  ack.name = name->get<std::string>();
  if (auto deleted = data.find("deleted"); deleted != data.end()) {
    if (!deleted->is_boolean()) return false;
    ack.deleted = deleted->get<bool>();
  }
  auto version = data.find("version");
  if (version != data.end()) {
    if (!version->is_number_integer()) return false;
    ack.version = version->get<int64_t>();
  } else if (!ack.deleted) {
    return false;
  }
  if (!ack.deleted) ack.delta = ParseDelta(data);
  *out = std::move(ack);
  return true;
}

}  // namespace jcm
