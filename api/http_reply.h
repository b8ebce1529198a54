// HttpReply: what a route answers, independent of the HTTP library, and the
// one place where a jcm::Status becomes an HTTP status code.
//
// Every reply except POST /sub's success is the envelope
//   {"code": 0, "msg": "ok", "data": ...}        on success,
//   {"code": -1, "msg": "<message>", "data": null} on failure,
// with a real HTTP status code (JCM answered 200 for errors; we do not).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/name_service.h"
#include "model/status.h"

namespace jcm {

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Extra response headers (Cache-Control, WWW-Authenticate, ...).
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// The Status -> HTTP mapping. kOk maps to 200.
int HttpStatusFor(Status::Code code);

// Serialises JSON for the wire. Invalid UTF-8 (a raw byte echoed from a bad
// path, a message cut inside a character) is replaced, never thrown.
std::string DumpJson(const nlohmann::json& doc);

HttpReply OkReply(const nlohmann::json& data);
// The same, with `data_json` already serialised (cached cluster texts).
HttpReply OkReplyRaw(const std::string& data_json);
HttpReply ErrorReply(const Status& status);
// An error envelope with an explicit HTTP status, for refusals that
// cpp-httplib makes itself (404 no route, 413 payload too large).
HttpReply ErrorReply(int http_status, const std::string& message);

// {"name": ..., "version": N} or {"name": ..., "deleted": true[, "version": N]}
// (N: the deletion's zxid, when known).
nlohmann::json WriteAckJson(const WriteAck& ack);
// DumpJson(WriteAckJson(ack)), byte for byte, with the delta's operations
// encoded once per delta (see WriteDelta::ops_text) and without a DOM.
std::string WriteAckText(const WriteAck& ack);
// The inverse, for a leader's reply to a forwarded write. Returns false if
// `data` is not a write acknowledgement.
bool ParseWriteAck(const nlohmann::json& data, WriteAck* out);

}  // namespace jcm
