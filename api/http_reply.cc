#include "api/http_reply.h"

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

json WriteAckJson(const WriteAck& ack) {
  if (ack.deleted) {
    // The deletion's zxid, when the store knows it: a follower then waits
    // for exactly this delete, not for a re-create that follows it.
    if (ack.version > 0) return {{"name", ack.name}, {"deleted", true}, {"version", ack.version}};
    return {{"name", ack.name}, {"deleted", true}};
  }
  return {{"name", ack.name}, {"version", ack.version}};
}

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
  *out = std::move(ack);
  return true;
}

}  // namespace jcm
