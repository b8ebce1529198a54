#include "api/subscribe_handler.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/metrics_api.h"
#include "model/cluster_codec.h"
#include "model/validation.h"

namespace jcm {

using nlohmann::json;

namespace {

// An optional integer field; absent or null leaves *out unchanged.
Status GetInt64(const json& obj, const char* key, const std::string& field, int64_t lo,
                int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer()) return JsonTypeError(field, *it, "an integer");
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::InvalidArgument(field + ": " + it->dump() + " is out of range");
  }
  int64_t v = it->get<int64_t>();
  if (v < lo) {
    return Status::InvalidArgument(field + ": " + it->dump() + " is below " + std::to_string(lo));
  }
  *out = v;
  return Status::Ok();
}

}  // namespace

SubscribeHandler::SubscribeHandler(SubscribeOptions options, const NameService* names,
                                   EncodedClusterCache* cache, ApiCounters* counters)
    : options_(options),
      names_(names),
      cache_(cache),
      counters_(counters),
      table_(options.max_parked) {}

Status SubscribeHandler::Decode(const json& doc, Request* out) const {
  if (!doc.is_object()) return JsonTypeError("body", doc, "an object {\"tag\", \"units\"}");
  if (auto tag = doc.find("tag"); tag != doc.end() && !tag->is_null() && !tag->is_string()) {
    return JsonTypeError("tag", *tag, "a string");
  }
  int64_t ext = 0;
  Status s = GetInt64(doc, "ext", "ext", 0, &ext);
  if (!s.ok()) return s;
  if (ext > 1) return Status::InvalidArgument("ext: " + std::to_string(ext) + " is not 0 or 1");
  out->ext = ext == 1;
  int64_t delta = 0;
  s = GetInt64(doc, "delta", "delta", 0, &delta);
  if (!s.ok()) return s;
  if (delta > 1)
    return Status::InvalidArgument("delta: " + std::to_string(delta) + " is not 0 or 1");
  if (delta == 1 && !out->ext) return Status::InvalidArgument("delta: 1 needs \"ext\": 1");
  out->delta = delta == 1;
  int64_t wait_ms = 0;
  s = GetInt64(doc, "waitMs", "waitMs", 0, &wait_ms);
  if (!s.ok()) return s;
  out->wait = std::min(std::chrono::milliseconds(wait_ms), options_.max_wait);

  auto units = doc.find("units");
  if (units == doc.end() || units->is_null()) return Status::InvalidArgument("units: missing");
  if (!units->is_array()) return JsonTypeError("units", *units, "an array of {name, version}");
  if (units->size() > options_.max_units) {
    return Status::InvalidArgument("units: " + std::to_string(units->size()) +
                                   " units is more than " + std::to_string(options_.max_units));
  }
  out->units.resize(units->size());
  for (size_t i = 0; i < units->size(); ++i) {
    const json& u = (*units)[i];
    std::string field = "units[" + std::to_string(i) + "]";
    if (!u.is_object()) return JsonTypeError(field, u, "an object {name, version}");
    Unit& unit = out->units[i];
    auto name = u.find("name");
    if (name == u.end() || name->is_null())
      return Status::InvalidArgument(field + ".name: missing");
    if (!name->is_string()) return JsonTypeError(field + ".name", *name, "a string");
    unit.name = name->get<std::string>();
    // ValidateClusterName's message starts with "name: ".
    s = ValidateClusterName(unit.name);
    if (!s.ok()) return Status::InvalidArgument(field + "." + s.message());
    s = GetInt64(u, "version", field + ".version", std::numeric_limits<int64_t>::min(),
                 &unit.version);
    if (!s.ok()) return s;
    s = GetInt64(u, "statusVersion", field + ".statusVersion", std::numeric_limits<int64_t>::min(),
                 &unit.status_version);
    if (!s.ok()) return s;
  }
  // A name asked twice is answered once, from the older of the versions
  // held, so nothing the caller lacks is missed and nothing is sent twice.
  std::unordered_map<std::string, size_t> first;
  std::vector<Unit> merged;
  merged.reserve(out->units.size());
  for (Unit& u : out->units) {
    auto [it, fresh] = first.emplace(u.name, merged.size());
    if (fresh) {
      merged.push_back(std::move(u));
      continue;
    }
    Unit& kept = merged[it->second];
    kept.version = std::min(kept.version, u.version);
    kept.status_version = std::min(kept.status_version, u.status_version);
  }
  out->units = std::move(merged);
  return Status::Ok();
}

void SubscribeHandler::AppendUnit(const Request& request, const Unit& unit, std::string* out,
                                  bool* nochange) const {
  *nochange = false;
  *out += R"({"name":)";
  *out += DumpJson(unit.name);
  ClusterPtr cluster = names_->GetCluster(unit.name);
  if (!cluster || !cluster->online) {
    *out += R"(,"kind":"RESP_REMOVE"})";
  } else if (cluster->version > unit.version) {
    auto encoded = cache_->Get(cluster);
    if (request.delta && unit.version > 0) {
      ClusterPtr base = cache_->Find(unit.name, unit.version, unit.status_version);
      size_t nodes_read = 0;
      std::shared_ptr<const std::string> delta =
          base ? encoded->DeltaFrom(base, &nodes_read) : nullptr;
      counters_->sub_delta_nodes_read.fetch_add(nodes_read, std::memory_order_relaxed);
      if (delta) {
        counters_->sub_delta_units.fetch_add(1, std::memory_order_relaxed);
        *out += R"(,"kind":"RESP_DELTA",)";
        *out += *delta;
        *out += '}';
        return;
      }
      counters_->sub_delta_full_units.fetch_add(1, std::memory_order_relaxed);
    }
    *out += R"(,"kind":"RESP_UPDATE","cluster":)";
    *out += request.ext ? encoded->Full() : encoded->Jcm();
    *out += '}';
  } else if (!request.ext) {
    *out += R"(,"kind":"RESP_STATUS","invalids":)";
    *out += cache_->Get(cluster)->Invalids();
    *out += '}';
  } else if (cluster->status_version > unit.status_version) {
    *out += R"(,"kind":"RESP_STATUS","statusVersion":)";
    *out += std::to_string(cluster->status_version);
    *out += cluster->panic ? R"(,"panic":true,"invalids":)" : R"(,"panic":false,"invalids":)";
    *out += cache_->Get(cluster)->Invalids();
    *out += '}';
  } else {
    *out += R"(,"kind":"RESP_NOCHANGE"})";
    *nochange = true;
  }
}

bool SubscribeHandler::Evaluate(const Request& request, std::string* units) const {
  units->clear();
  units->push_back('[');
  bool all_nochange = true;
  for (size_t i = 0; i < request.units.size(); ++i) {
    if (i > 0) *units += ',';
    bool nochange = false;
    AppendUnit(request, request.units[i], units, &nochange);
    all_nochange = all_nochange && nochange;
    // Past the bound the text is useless (Reply refuses it): stop building.
    if (units->size() > options_.max_reply_bytes) return false;
  }
  *units += ']';
  return all_nochange;
}

Result<HttpReply> SubscribeHandler::Reply(const std::string& units) const {
  if (units.size() > options_.max_reply_bytes) {
    return Status::TooLarge("units: the reply would exceed " +
                            std::to_string(options_.max_reply_bytes) +
                            " bytes; subscribe to fewer clusters per request");
  }
  return HttpReply{200, R"({"units":)" + units + "}"};
}

std::optional<HttpReply> SubscribeHandler::CachedReply(std::string_view body, uint64_t seen) {
  std::shared_ptr<const std::string> cached = replies_.Find(body, seen);
  if (!cached) return std::nullopt;
  counters_->sub_cached_replies.fetch_add(1, std::memory_order_relaxed);
  return HttpReply{200, *cached};
}

Result<HttpReply> SubscribeHandler::RememberedReply(std::string_view body, uint64_t seen,
                                                    const std::string& units) {
  Result<HttpReply> reply = Reply(units);
  if (reply.ok()) replies_.Store(body, seen, reply.value().body);
  return reply;
}

struct SubscribeHandler::Poll : ParkedPoll {
  Poll(std::shared_ptr<const Request> r, std::string_view b, boost::asio::any_io_executor executor,
       Responder respond)
      : request(std::move(r)), body(b), timer(std::move(executor)), respond(std::move(respond)) {}
  const std::shared_ptr<const Request> request;  // shared with others that sent the same body
  const std::string body;                        // as received: the reply cache's key
  boost::asio::steady_timer timer;               // waitMs; runs on the connection's executor
  Responder respond;
  bool answered = false;
  const std::chrono::steady_clock::time_point parked = std::chrono::steady_clock::now();
};

void SubscribeHandler::UpdateParkedGauge() {
  counters_->long_polls_parked.store(static_cast<int64_t>(table_.size()),
                                     std::memory_order_relaxed);
}

void SubscribeHandler::Answer(const std::shared_ptr<Poll>& poll, std::string units, bool changed) {
  AnswerWith(poll, Reply(units), changed);
}

void SubscribeHandler::AnswerWith(const std::shared_ptr<Poll>& poll, Result<HttpReply> reply,
                                  bool changed) {
  if (poll->answered) return;
  poll->answered = true;
  poll->timer.cancel();
  if (options_.metrics)
    options_.metrics->long_poll_wait_seconds(changed).ObserveSince(poll->parked);
  poll->respond(std::move(reply));
}

void SubscribeHandler::ParkOrAnswer(const std::shared_ptr<Poll>& poll, uint64_t seen,
                                    std::string units) {
  bool changed = false;
  while (true) {
    if (stopping_.load(std::memory_order_acquire) || !table_.Park(poll)) break;
    UpdateParkedGauge();
    // A change applied between the evaluation and Park() notified nobody:
    // the counter moved, so look again (the poll stays parked meanwhile and
    // later changes find it in the table).
    uint64_t now = names_->ChangeCounter();
    if (now == seen) return;
    if (!table_.Remove(*poll)) return;  // a change took it out already; Resume answers
    UpdateParkedGauge();
    seen = now;
    changed = !Evaluate(*poll->request, &units);
    if (changed) break;
  }
  Answer(poll, std::move(units), changed);
}

void SubscribeHandler::Resume(const std::shared_ptr<Poll>& poll) {
  uint64_t seen = names_->ChangeCounter();
  // Subscribers that hold the same units at the same versions send the same
  // body and wake together on a change: the first one evaluated answers
  // the rest through the reply cache. Only replies that are not all
  // RESP_NOCHANGE are stored for a waiting body, so a hit means answer now.
  if (std::optional<HttpReply> cached = CachedReply(poll->body, seen)) {
    return AnswerWith(poll, std::move(*cached), true);
  }
  std::string units;
  if (!Evaluate(*poll->request, &units)) {
    return AnswerWith(poll, RememberedReply(poll->body, seen, units), true);
  }
  ParkOrAnswer(poll, seen, std::move(units));
}

void SubscribeHandler::OnClusterChanged(const std::string& name) {
  std::vector<std::shared_ptr<ParkedPoll>> woken = table_.TakeHolding(name);
  if (woken.empty()) return;
  UpdateParkedGauge();
  for (auto& p : woken) {
    auto poll = std::static_pointer_cast<Poll>(p);
    boost::asio::post(poll->timer.get_executor(), [this, poll] { Resume(poll); });
  }
}

void SubscribeHandler::Shutdown() {
  stopping_.store(true, std::memory_order_release);
  std::vector<std::shared_ptr<ParkedPoll>> all = table_.Shutdown();
  UpdateParkedGauge();
  for (auto& p : all) {
    auto poll = std::static_pointer_cast<Poll>(p);
    boost::asio::post(poll->timer.get_executor(), [this, poll] {
      std::string units;
      bool quiet = Evaluate(*poll->request, &units);
      Answer(poll, std::move(units), !quiet);
    });
  }
}

void SubscribeHandler::Handle(std::string_view body, boost::asio::any_io_executor executor,
                              Responder respond) {
  counters_->sub_requests.fetch_add(1, std::memory_order_relaxed);
  // Read the counter before evaluating: a change that lands during the
  // evaluation then moves it past `seen` and is not missed (by a parked
  // poll, and by the reply cache, whose entry for `seen` is then stale).
  const uint64_t seen = names_->ChangeCounter();
  if (std::optional<HttpReply> cached = CachedReply(body, seen)) return respond(std::move(*cached));
  std::shared_ptr<const Request> decoded = decoded_.Find(body);
  if (!decoded) {
    json doc;
    Status s = ParseJsonText(body, &doc);
    if (!s.ok()) return respond(s);
    auto fresh = std::make_shared<Request>();
    s = Decode(doc, fresh.get());
    if (!s.ok()) return respond(s);
    decoded = std::move(fresh);
    decoded_.Store(body, decoded);
  }
  const Request& request = *decoded;

  std::string units;
  bool quiet = Evaluate(request, &units);
  bool wants_wait = request.ext && request.wait.count() > 0 && !request.units.empty();
  if (!quiet || !wants_wait) {
    // The same body with nothing changed is answered the same way, at once.
    return respond(RememberedReply(body, seen, units));
  }
  if (stopping_.load(std::memory_order_acquire)) return respond(Reply(units));
  if (table_.size() >= table_.capacity()) {
    counters_->long_polls_refused.fetch_add(1, std::memory_order_relaxed);
    return respond(Reply(units));
  }
  auto wait = request.wait;
  auto poll =
      std::make_shared<Poll>(std::move(decoded), body, std::move(executor), std::move(respond));
  // Decode merged names asked twice: each unit's name is already distinct.
  poll->names.reserve(poll->request->units.size());
  for (const Unit& u : poll->request->units) poll->names.push_back(u.name);
  counters_->long_polls.fetch_add(1, std::memory_order_relaxed);
  poll->timer.expires_after(wait);
  poll->timer.async_wait([this, poll](boost::system::error_code ec) {
    if (ec || !table_.Remove(*poll)) return;  // answered, or a change owns it now
    UpdateParkedGauge();
    std::string units;
    bool quiet = Evaluate(*poll->request, &units);
    Answer(poll, std::move(units), !quiet);
  });
  ParkOrAnswer(poll, seen, std::move(units));
}

}  // namespace jcm
