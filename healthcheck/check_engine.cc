#include "healthcheck/check_engine.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "healthcheck/xxhash64.h"

namespace jcm {
namespace {

constexpr uint32_t kNoTarget = std::numeric_limits<uint32_t>::max();

int OrDefault(int value, int fallback) { return value > 0 ? value : fallback; }

}  // namespace

struct CheckEngine::NodeSlot {
  std::string spec;
  NodeHealth health;
  int64_t offset_ms = 0;
  bool online = true;
  uint32_t target = kNoTarget;
  ProbeTarget probe;  // valid iff target != kNoTarget
  bool in_flight = false;
  bool fast_flight = false;  // the check in flight is an extra one (no round)
  uint8_t flight_parity = 0;
  int64_t fast_due = -1;   // an extra check is queued for then; -1 none
  int64_t started_ms = 0;  // mono time the check in flight started
  int64_t started_us = 0;  // the same in µs, kept only for on_check_done
  uint64_t fast_gen = 0;
  // Status as of this instance's last successful write of the cluster.
  NodeStatus written = NodeStatus::kInvalid;
  bool written_decided = false;
  // Second opinions (see the header).
  uint64_t opinion_id = 0;                          // a question in flight; 0 none
  NodeStatus opinion_down = NodeStatus::kAbnormal;  // the verdict it would publish
  CheckOutcome opinion_outcome = CheckOutcome::kBadAnswer;
  bool suspect = false;  // a peer reached it after it failed here

  // What a report says of the node: its status, or "no opinion" while it is
  // undecided (see NodeHealth).
  NodeCheckState Reported() const {
    if (!health.decided()) return NodeCheckState{NodeStatus::kInvalid, NodeCheckState::kNoOpinion};
    return NodeCheckState{health.status(), health.last_check_ms()};
  }
  bool Unwritten() const {
    return health.status() != written || health.decided() != written_decided;
  }
  void MarkWritten() {
    written = health.status();
    written_decided = health.decided();
  }
};

struct CheckEngine::RoundTrack {
  uint64_t round = 0;
  bool active = false;
  bool all_started = false;
  bool late = false;
  int in_flight = 0;
  int64_t start_ms = 0;
};

struct CheckEngine::ClusterSlot {
  uint32_t slot = 0;
  std::shared_ptr<const Cluster> def;
  std::vector<NodeSlot> nodes;  // sorted by (offset_ms, spec)
  int interval_ms = 1000;
  int timeout_ms = 800;
  int rise = 1;
  int fall = 2;
  int fastinter_ms = 250;
  int second_opinions = 0;
  uint64_t seed = 0;  // XXH64(name), seeds the node offsets
  uint64_t gen = 0;   // of the one valid entry in due_
  uint64_t round = 1;
  int64_t round_start = 0;
  size_t next_index = 0;
  RoundTrack track[2];
  uint64_t last_finished_round = 0;
  bool ever_written = false;
  bool specs_changed = false;       // the set of specs differs from the last write
  bool force_write = false;         // the last write failed
  int64_t last_write_mono_ms = -1;  // for the early-write rate limit
  int64_t early_flush_at = -1;      // an early write held back until then
  size_t checked = 0;               // nodes with a check target
  std::deque<int64_t> downs;        // mono times of NORMAL -> down in the last interval

  RoundTrack& Track(uint64_t r) { return track[r & 1]; }
};

CheckEngine::CheckEngine(HealthOptions options, int keepalive_budget, Prober* http, Prober* tcp,
                         StatusSink* sink, HealthCounters* counters, const Clock* clock)
    : options_(std::move(options)),
      keepalive_budget_(keepalive_budget),
      http_(http),
      tcp_(tcp),
      sink_(sink),
      counters_(counters),
      clock_(clock),
      write_cache_(options_.write_cache),
      late_tolerance_ms_(options_.late_tolerance_ms),
      local_(options_.local_health) {}

CheckEngine::~CheckEngine() {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]) RemoveCluster(i);
  }
  // Whoever waits on a one-shot hears "unknown" rather than nothing.
  auto oneshots = std::move(oneshots_);
  for (auto& [target, done] : oneshots) {
    for (Prober* p : {http_, tcp_}) p->RemoveTarget(target);
    done(std::nullopt);
  }
  for (auto& [done, outcome] : oneshot_calls_) done(outcome);
}

namespace {

struct Timing {
  int interval_ms;
  int timeout_ms;
};

Timing TimingOf(const Cluster& d, const HealthOptions& options) {
  Timing t;
  t.interval_ms = OrDefault(d.check.interval_ms, OrDefault(options.interval_ms, 1000));
  int timeout =
      OrDefault(d.check.timeout_ms, OrDefault(options.timeout_ms, t.interval_ms * 8 / 10));
  t.timeout_ms = std::max(1, std::min(timeout, t.interval_ms * 9 / 10));
  return t;
}

}  // namespace

std::optional<ProbeTarget> CheckEngine::TargetFor(const Cluster& d, const Node& node,
                                                  const HealthOptions& options) {
  if (!d.online || !node.online || d.check_type == CheckType::kNone) return std::nullopt;
  std::optional<uint16_t> port =
      node.PortFor(d.check_type == CheckType::kTcp ? Proto::kTcp : Proto::kHttp);
  // A TCP check may connect to the HTTP port of a node that has no TCP one.
  if (!port && d.check_type == CheckType::kTcp) port = node.PortFor(Proto::kHttp);
  if (!port) return std::nullopt;
  const Timing timing = TimingOf(d, options);
  ProbeTarget p;
  p.type = d.check_type;
  p.ip = node.ip;
  p.port = *port;
  p.path = d.check_file.empty() ? "/" : d.check_file;
  if (p.path[0] != '/') p.path.insert(0, 1, '/');
  p.timeout_ms = timing.timeout_ms;
  // Doubled while this instance doubts itself, still below the interval so
  // a check has ended before the node's next one is due.
  p.widened_timeout_ms =
      std::max(timing.timeout_ms, std::min(timing.timeout_ms * 2, timing.interval_ms * 9 / 10));
  p.ok_codes = d.check.ok_codes;
  p.keepalive = false;
  return p;
}

Prober* CheckEngine::ProberFor(CheckType type) const {
  return type == CheckType::kTcp ? tcp_ : http_;
}

void CheckEngine::SetClusters(const std::vector<std::shared_ptr<const Cluster>>& owned) {
  const int64_t now = clock_->MonoMs();
  std::unordered_map<std::string, const std::shared_ptr<const Cluster>*> wanted;
  for (const auto& c : owned) {
    if (c) wanted[c->name] = &c;
  }
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i] && !wanted.count(slots_[i]->def->name)) RemoveCluster(i);
  }
  for (const auto& [name, def] : wanted) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      AddCluster(*def, now);
    } else if (slots_[it->second]->def != *def) {
      ClusterSlot* c = slots_[it->second].get();
      // Same definition, new statuses (every status write comes back this
      // way): only seed what is undecided; the schedule is left alone.
      if (c->def->version == (*def)->version && c->def->version != 0) {
        Reseed(c, *def);
      } else {
        UpdateCluster(c, *def, now);
      }
    }
  }
  UpdateGauges();
}

void CheckEngine::ApplySettings(ClusterSlot* c) {
  const Cluster& d = *c->def;
  const Timing timing = TimingOf(d, options_);
  c->interval_ms = timing.interval_ms;
  c->timeout_ms = timing.timeout_ms;
  c->second_opinions =
      d.check.second_opinions >= 0 ? d.check.second_opinions : options_.second_opinions;
  c->rise = OrDefault(d.check.rise, OrDefault(options_.rise, 1));
  c->fall = OrDefault(d.check.fall, OrDefault(options_.fall, 2));
  c->fastinter_ms = std::max(
      100, OrDefault(d.check.fast_inter_ms, OrDefault(options_.fastinter_ms, c->interval_ms / 4)));
  c->seed = XxHash64(d.name);
  if (options_.late_tolerance_ms <= 0) {
    late_tolerance_ms_ = std::max(50, OrDefault(options_.interval_ms, 1000) / 10);
  }
}

void CheckEngine::DropTarget(ClusterSlot* c, NodeSlot* n) {
  if (n->target == kNoTarget) return;
  ClearOpinion(n);
  ProberFor(n->probe.type)->RemoveTarget(n->target);
  if (n->in_flight) {
    n->in_flight = false;
    if (!n->fast_flight) {
      RoundTrack& t = c->track[n->flight_parity];
      if (t.in_flight > 0) --t.in_flight;
    }
    n->fast_flight = false;
  }
  n->fast_due = -1;
  if (n->probe.keepalive) --keepalive_used_;
  targets_[n->target] = TargetRef{};
  free_targets_.push_back(n->target);
  n->target = kNoTarget;
}

void CheckEngine::Retarget(ClusterSlot* c, NodeSlot* n, const Node* def) {
  std::optional<ProbeTarget> want = TargetFor(*c->def, *def, options_);
  if (want) {
    // Keep the keep-alive decision of an existing target, so a definition
    // change does not shuffle connections between nodes.
    want->keepalive =
        n->target != kNoTarget ? n->probe.keepalive : keepalive_used_ < keepalive_budget_;
  }
  if (n->target != kNoTarget && (!want || !(*want == n->probe))) DropTarget(c, n);
  if (!want || n->target != kNoTarget) return;
  if (want->keepalive && keepalive_used_ >= keepalive_budget_) want->keepalive = false;
  const uint32_t id = AllocTarget();
  if (want->keepalive) ++keepalive_used_;
  n->target = id;
  n->probe = std::move(*want);
  ProberFor(n->probe.type)->AddTarget(id, n->probe);
}

uint32_t CheckEngine::AllocTarget() {
  uint32_t id;
  if (!free_targets_.empty()) {
    id = free_targets_.back();
    free_targets_.pop_back();
  } else {
    id = static_cast<uint32_t>(targets_.size());
    targets_.emplace_back();
  }
  return id;
}

void CheckEngine::AddCluster(std::shared_ptr<const Cluster> def, int64_t now) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot] = std::make_unique<ClusterSlot>();
  ClusterSlot* c = slots_[slot].get();
  c->slot = slot;
  c->def = std::move(def);
  by_name_[c->def->name] = slot;
  // The first round starts now and covers every node: its report is written
  // unconditionally, so it must not be a partial round.
  c->round = 1;
  c->round_start = now;
  c->next_index = 0;
  c->Track(1) = RoundTrack{1, true, false, false, 0, now};
  UpdateCluster(c, c->def, now);
}

void CheckEngine::UpdateCluster(ClusterSlot* c, std::shared_ptr<const Cluster> def, int64_t now) {
  c->def = std::move(def);
  ApplySettings(c);
  const Cluster& d = *c->def;
  const int64_t wall = clock_->WallMs();

  std::unordered_map<std::string, NodeSlot> old;
  old.reserve(c->nodes.size());
  for (NodeSlot& n : c->nodes) old.emplace(n.spec, std::move(n));
  const bool had_nodes = !c->nodes.empty() || c->ever_written;
  c->nodes.clear();
  c->nodes.reserve(d.nodes.size());

  bool specs_changed = false;
  for (const Node& def_node : d.nodes) {
    std::string spec = def_node.Spec();
    auto it = old.find(spec);
    NodeSlot n;
    if (it != old.end()) {
      n = std::move(it->second);
      old.erase(it);
      // Statuses applied after the node was first seen (definitions load
      // before statuses; a restarted owner learns them late): an undecided
      // node starts from them, as a new one would have.
      if (!n.health.decided() && def_node.online && def_node.status != NodeStatus::kInvalid) {
        n.health = NodeHealth(def_node.status, def_node.last_check_ms);
      }
    } else {
      if (had_nodes) specs_changed = true;
      n.spec = std::move(spec);
      // Seed from the status the server knows (the previous owner's last
      // write): see NodeHealth for why.
      n.health = NodeHealth(def_node.online ? def_node.status : NodeStatus::kInvalid,
                            def_node.last_check_ms);
      n.MarkWritten();
    }
    n.online = def_node.online;
    n.offset_ms =
        static_cast<int64_t>(XxHash64(n.spec, c->seed) % static_cast<uint64_t>(c->interval_ms));
    Retarget(c, &n, &def_node);
    if (!d.online || !def_node.online) {
      const NodeStatus before = n.health.status();
      if (n.health.SetOffline()) Log(c, n, before, NodeStatus::kInvalid, "offline");
    } else if (d.check_type == CheckType::kNone) {
      n.health.SetUnchecked(wall);
    }
    c->nodes.push_back(std::move(n));
  }
  for (auto& [spec, n] : old) {
    DropTarget(c, &n);
    if (log_) log_->ForgetNode(d.name, spec);
    specs_changed = true;
  }
  c->specs_changed = c->specs_changed || specs_changed;
  std::sort(c->nodes.begin(), c->nodes.end(), [](const NodeSlot& a, const NodeSlot& b) {
    return a.offset_ms != b.offset_ms ? a.offset_ms < b.offset_ms : a.spec < b.spec;
  });
  c->checked = 0;
  for (uint32_t i = 0; i < c->nodes.size(); ++i) {
    if (c->nodes[i].target != kNoTarget) {
      targets_[c->nodes[i].target] = TargetRef{c, i};
      ++c->checked;
    }
  }
  // Nodes whose slot in the current round has passed wait for the next one.
  const int64_t elapsed = now - c->round_start;
  c->next_index = static_cast<size_t>(
      std::partition_point(c->nodes.begin(), c->nodes.end(),
                           [&](const NodeSlot& n) { return n.offset_ms <= elapsed - 1; }) -
      c->nodes.begin());
  if (elapsed <= 0) c->next_index = 0;
  // Cancelled checks may have been the last a round waited for.
  for (RoundTrack& t : c->track) MaybeFinishRound(c, &t, now);
  if (c->ever_written) Flush(c, c->last_finished_round, /*unconditional=*/false);
  Schedule(c);
}

void CheckEngine::Reseed(ClusterSlot* c, std::shared_ptr<const Cluster> def) {
  c->def = std::move(def);
  std::unordered_map<std::string, const Node*> by_spec;
  for (NodeSlot& n : c->nodes) {
    if (!n.health.decided()) by_spec.emplace(n.spec, nullptr);
  }
  if (by_spec.empty()) return;
  for (const Node& d : c->def->nodes) {
    auto it = by_spec.find(d.Spec());
    if (it != by_spec.end()) it->second = &d;
  }
  for (NodeSlot& n : c->nodes) {
    if (n.health.decided()) continue;
    const Node* d = by_spec[n.spec];
    if (d && d->online && d->status != NodeStatus::kInvalid) {
      n.health = NodeHealth(d->status, d->last_check_ms);
    }
  }
}

void CheckEngine::RemoveCluster(uint32_t slot) {
  ClusterSlot* c = slots_[slot].get();
  for (NodeSlot& n : c->nodes) DropTarget(c, &n);
  deferred_flush_.erase(slot);
  local_.Forget(slot);
  if (log_) log_->ForgetCluster(c->def->name);
  by_name_.erase(c->def->name);
  slots_[slot].reset();
  free_slots_.push_back(slot);
}

void CheckEngine::Schedule(ClusterSlot* c) {
  c->gen = next_gen_++;
  int64_t at = c->round_start;
  if (c->next_index < c->nodes.size()) at += c->nodes[c->next_index].offset_ms;
  due_.push(Due{at, c->slot, c->gen});
}

int64_t CheckEngine::NextDueMs() const {
  // Stale entries (of removed or rescheduled clusters) can only make this
  // early, which costs one empty Poll.
  int64_t next = due_.empty() ? std::numeric_limits<int64_t>::max() : due_.top().at;
  if (!fast_due_.empty()) next = std::min(next, fast_due_.top().at);
  for (uint32_t slot : deferred_flush_) next = std::min(next, slots_[slot]->early_flush_at);
  for (const auto& [id, p] : pending_) next = std::min(next, p.deadline);
  if (!oneshot_release_.empty() || !oneshot_calls_.empty()) next = 0;
  return next;
}

void CheckEngine::Poll() {
  const int64_t now = clock_->MonoMs();
  while (!due_.empty() && due_.top().at <= now) {
    Due d = due_.top();
    due_.pop();
    if (d.slot >= slots_.size() || !slots_[d.slot] || slots_[d.slot]->gen != d.gen) continue;
    Advance(slots_[d.slot].get(), now);
  }
  RunFastChecks(now);
  ExpireOpinions(now);
  ReleaseOneShots();
  if (local_.Evaluate(now)) ApplyLocalHealth();
  counters_->failing_clusters.store(static_cast<uint64_t>(local_.failing_clusters()),
                                    std::memory_order_relaxed);
  for (auto it = deferred_flush_.begin(); it != deferred_flush_.end();) {
    ClusterSlot* c = slots_[*it].get();
    if (c->early_flush_at > now) {
      ++it;
      continue;
    }
    it = deferred_flush_.erase(it);
    c->early_flush_at = -1;
    Flush(c, c->last_finished_round, /*unconditional=*/false);
  }
}

bool CheckEngine::TakeFastToken(int64_t now) {
  const double cap = options_.fastinter_max_per_sec;
  if (cap <= 0) return false;
  if (fast_tokens_at_ < 0) {
    fast_tokens_ = cap;
  } else {
    fast_tokens_ =
        std::min(cap, fast_tokens_ + static_cast<double>(now - fast_tokens_at_) * cap / 1000.0);
  }
  fast_tokens_at_ = now;
  if (fast_tokens_ < 1.0) return false;
  fast_tokens_ -= 1.0;
  return true;
}

void CheckEngine::RunFastChecks(int64_t now) {
  while (!fast_due_.empty() && fast_due_.top().at <= now) {
    const FastDue f = fast_due_.top();
    fast_due_.pop();
    if (f.target >= targets_.size() || targets_[f.target].cluster == nullptr) continue;
    ClusterSlot* c = targets_[f.target].cluster;
    NodeSlot& n = c->nodes[targets_[f.target].node];
    if (n.fast_gen != f.gen || n.fast_due != f.at) continue;  // superseded
    n.fast_due = -1;
    if (n.in_flight) continue;
    if (!TakeFastToken(now)) {
      counters_->fast_capped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    n.in_flight = true;
    n.started_ms = now;
    if (options_.on_check_done) n.started_us = clock_->MonoUs();
    n.fast_flight = true;
    counters_->checks.fetch_add(1, std::memory_order_relaxed);
    counters_->fast_checks.fetch_add(1, std::memory_order_relaxed);
    ProberFor(n.probe.type)->Start(n.target);
  }
}

void CheckEngine::MaybeFastRecheck(ClusterSlot* c, uint32_t index, CheckOutcome outcome,
                                   int64_t now) {
  NodeSlot& n = c->nodes[index];
  if (c->fastinter_ms >= c->interval_ms || options_.fastinter_max_per_sec <= 0) return;
  const NodeStatus st = n.health.status();
  const bool down = st == NodeStatus::kAbnormal || st == NodeStatus::kTimeout;
  // A node not yet down after a failure: short of fall, or its verdict held
  // by the down cap.
  const bool falling = outcome != CheckOutcome::kSuccess && !down;
  const bool rising = outcome == CheckOutcome::kSuccess && st != NodeStatus::kNormal &&
                      n.health.successes() < c->rise;
  if (!falling && !rising) return;
  const int64_t at = now + c->fastinter_ms;
  // Its ordinary check comes first anyway: nothing to add.
  const int64_t next_ordinary =
      c->round_start + n.offset_ms + (index < c->next_index ? c->interval_ms : 0);
  if (next_ordinary <= at) return;
  n.fast_due = at;
  n.fast_gen = next_fast_gen_++;
  fast_due_.push(FastDue{at, n.target, n.fast_gen});
}

bool CheckEngine::DownAllowed(ClusterSlot* c, int64_t now) {
  if (options_.max_down_share >= 1.0) return true;
  while (!c->downs.empty() && c->downs.front() <= now - c->interval_ms) c->downs.pop_front();
  const size_t limit = std::max<size_t>(
      1, static_cast<size_t>(options_.max_down_share * static_cast<double>(c->checked)));
  return c->downs.size() < limit;
}

void CheckEngine::Log(ClusterSlot* c, const NodeSlot& n, NodeStatus from, NodeStatus to,
                      const char* reason) {
  if (!log_) return;
  log_->Record(c->def->name, n.spec, Transition{clock_->WallMs(), from, to, reason});
}

void CheckEngine::EarlyFlush(ClusterSlot* c, int64_t now) {
  if (!c->ever_written) return;
  if (c->last_write_mono_ms < 0 || now - c->last_write_mono_ms >= kMinEarlyWriteGapMs) {
    Flush(c, c->last_finished_round, /*unconditional=*/false);
    return;
  }
  if (c->early_flush_at < 0) {
    c->early_flush_at = c->last_write_mono_ms + kMinEarlyWriteGapMs;
    deferred_flush_.insert(c->slot);
  }
}

void CheckEngine::NextRound(ClusterSlot* c, uint64_t rounds, int64_t now) {
  c->round_start += static_cast<int64_t>(rounds) * c->interval_ms;
  c->round += rounds;
  c->next_index = 0;
  RoundTrack& next = c->Track(c->round);
  if (next.active) {
    // Two rounds back and still waiting: a prober lost a result. Close it
    // rather than stall the cluster's writes forever.
    next.late = true;
    next.in_flight = 0;
    next.all_started = true;
    MaybeFinishRound(c, &next, now);
  }
  next = RoundTrack{c->round, true, false, false, 0, c->round_start};
}

void CheckEngine::Advance(ClusterSlot* c, int64_t now) {
  for (;;) {
    if (now - c->round_start >= c->interval_ms) {
      // The loop fell a whole interval behind (stalled process, overloaded
      // machine). Firing the overdue checks would be a burst that checks
      // nodes twice in a row: abandon the round, skip the rounds that could
      // not happen (all late), and resume at the current position.
      RoundTrack& t = c->Track(c->round);
      t.all_started = true;
      t.late = true;
      MaybeFinishRound(c, &t, now);
      const uint64_t missed = static_cast<uint64_t>((now - c->round_start) / c->interval_ms);
      counters_->late_rounds.fetch_add(missed - 1, std::memory_order_relaxed);
      NextRound(c, missed, now);
    }
    while (c->next_index < c->nodes.size()) {
      NodeSlot& n = c->nodes[c->next_index];
      const int64_t due = c->round_start + n.offset_ms;
      if (due > now) break;
      StartNode(c, &n, due, now);
      ++c->next_index;
    }
    if (c->next_index < c->nodes.size()) break;
    // Every node of this round has been started.
    RoundTrack& t = c->Track(c->round);
    t.all_started = true;
    MaybeFinishRound(c, &t, now);
    NextRound(c, 1, now);
    if (c->round_start > now) break;
  }
  Schedule(c);
}

void CheckEngine::StartNode(ClusterSlot* c, NodeSlot* n, int64_t due, int64_t now) {
  const Cluster& d = *c->def;
  RoundTrack& t = c->Track(c->round);
  if (!d.online || !n->online) {
    n->health.SetOffline();
    return;
  }
  if (d.check_type == CheckType::kNone) {
    n->health.SetUnchecked(clock_->WallMs());
    return;
  }
  if (n->target == kNoTarget) {
    // Online but without a port to check: it cannot be shown healthy.
    n->health.Record(CheckOutcome::kBadAnswer, c->rise, c->fall, clock_->WallMs());
    return;
  }
  if (n->in_flight) {
    // An extra check running now stands in for this one.
    if (n->fast_flight) return;
    t.late = true;
    counters_->skipped_busy.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  n->fast_due = -1;  // this ordinary check replaces a queued extra one
  if (now - due > late_tolerance_ms_) {
    t.late = true;
    local_.OnLate(now - due, now);
  }
  n->in_flight = true;
  n->started_ms = now;
  if (options_.on_check_done) n->started_us = clock_->MonoUs();
  n->flight_parity = static_cast<uint8_t>(c->round & 1);
  ++t.in_flight;
  counters_->checks.fetch_add(1, std::memory_order_relaxed);
  ProberFor(n->probe.type)->Start(n->target);
}

void CheckEngine::OnProbeResult(uint32_t target, CheckOutcome outcome) {
  if (auto it = oneshots_.find(target); it != oneshots_.end()) {
    // Called from inside the prober: the target is removed in Poll.
    oneshot_calls_.emplace_back(std::move(it->second), outcome);
    oneshots_.erase(it);
    oneshot_release_.push_back(target);
    return;
  }
  if (target >= targets_.size() || targets_[target].cluster == nullptr) return;
  ClusterSlot* c = targets_[target].cluster;
  const uint32_t index = targets_[target].node;
  NodeSlot& n = c->nodes[index];
  if (!n.in_flight) return;
  n.in_flight = false;
  const bool fast = n.fast_flight;
  n.fast_flight = false;
  switch (outcome) {
    case CheckOutcome::kSuccess:
      counters_->successes.fetch_add(1, std::memory_order_relaxed);
      break;
    case CheckOutcome::kBadAnswer:
      counters_->failures.fetch_add(1, std::memory_order_relaxed);
      break;
    case CheckOutcome::kNoAnswer:
      counters_->timeouts.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  const int64_t now = clock_->MonoMs();
  if (outcome == CheckOutcome::kNoAnswer && n.started_ms < stall_end_ms_ &&
      now - stall_end_ms_ <= kStallGraceMs) {
    // The loop was stalled while this check waited: its timeout measured
    // our stall, not the node. No verdict; check it again soon.
    counters_->voided.fetch_add(1, std::memory_order_relaxed);
    if (c->fastinter_ms < c->interval_ms && options_.fastinter_max_per_sec > 0) {
      n.fast_due = now + c->fastinter_ms;
      n.fast_gen = next_fast_gen_++;
      fast_due_.push(FastDue{n.fast_due, n.target, n.fast_gen});
    }
    if (fast) return;
    RoundTrack& t = c->track[n.flight_parity];
    if (t.in_flight > 0) --t.in_flight;
    MaybeFinishRound(c, &t, now);
    return;
  }
  if (options_.on_check_done) {
    options_.on_check_done(n.probe.type,
                           static_cast<double>(clock_->MonoUs() - n.started_us) / 1e6);
  }
  local_.OnCheck(c->slot, outcome != CheckOutcome::kSuccess, now);
  if (outcome == CheckOutcome::kSuccess) ClearOpinion(&n);
  const NodeStatus before = n.health.status();
  bool transition = n.health.Record(outcome, c->rise, c->fall, clock_->WallMs());
  if (transition) {
    const NodeStatus after = n.health.status();
    const bool goes_down = after == NodeStatus::kAbnormal || after == NodeStatus::kTimeout;
    if (before == NodeStatus::kNormal && goes_down) {
      transition = OnDownVerdict(c, &n, after, outcome, now);
    } else {
      Log(c, n, before, after, ToString(outcome));
    }
  }
  MaybeFastRecheck(c, index, outcome, now);
  // A node changing state is news subscribers wait for: write it now rather
  // than at the end of the round (up to an interval later). Rate-limited per
  // cluster so a storm of transitions costs a few writes, not one each.
  if (transition) EarlyFlush(c, now);
  if (fast) return;  // extra checks belong to no round
  RoundTrack& t = c->track[n.flight_parity];
  if (t.in_flight > 0) --t.in_flight;
  MaybeFinishRound(c, &t, now);
}

bool CheckEngine::OnDownVerdict(ClusterSlot* c, NodeSlot* n, NodeStatus down, CheckOutcome outcome,
                                int64_t now) {
  if (n->opinion_id != 0) {
    // Already asked: wait for the answer, but publish what fails now.
    n->health.Revert(NodeStatus::kNormal);
    n->opinion_down = down;
    n->opinion_outcome = outcome;
    return false;
  }
  const bool over_cap = !DownAllowed(c, now);
  int peers = c->second_opinions;
  if (local_.degraded()) peers = std::max(peers, kDegradedOpinions);
  if (peers > 0 && opinions_ != nullptr) {
    OpinionRequest r;
    r.id = next_opinion_id_++;
    r.cluster = c->def->name;
    r.spec = n->spec;
    r.peers = peers;
    r.timeout_ms = c->timeout_ms + options_.opinion_grace_ms;
    if (opinions_->Ask(r)) {
      n->health.Revert(NodeStatus::kNormal);
      n->opinion_id = r.id;
      n->opinion_down = down;
      n->opinion_outcome = outcome;
      pending_[r.id] = Pending{n->target, now + r.timeout_ms};
      counters_->opinions_asked.fetch_add(1, std::memory_order_relaxed);
      counters_->opinions_pending.store(pending_.size(), std::memory_order_relaxed);
      return false;
    }
    counters_->opinions_alone.fetch_add(1, std::memory_order_relaxed);
  }
  if (over_cap) {
    n->health.Revert(NodeStatus::kNormal);
    counters_->downs_held.fetch_add(1, std::memory_order_relaxed);
    Log(c, *n, NodeStatus::kNormal, NodeStatus::kNormal, "held");
    return false;
  }
  c->downs.push_back(now);
  if (n->suspect) {
    n->suspect = false;
    counters_->suspect_nodes.fetch_sub(1, std::memory_order_relaxed);
  }
  Log(c, *n, NodeStatus::kNormal, down, ToString(outcome));
  return true;
}

void CheckEngine::ClearOpinion(NodeSlot* n) {
  if (n->opinion_id != 0) {
    pending_.erase(n->opinion_id);
    n->opinion_id = 0;
    counters_->opinions_pending.store(pending_.size(), std::memory_order_relaxed);
  }
  if (n->suspect) {
    n->suspect = false;
    counters_->suspect_nodes.fetch_sub(1, std::memory_order_relaxed);
  }
}

void CheckEngine::OnOpinion(uint64_t id, OpinionVerdict verdict) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  const uint32_t target = it->second.target;
  pending_.erase(it);
  counters_->opinions_pending.store(pending_.size(), std::memory_order_relaxed);
  if (target >= targets_.size() || targets_[target].cluster == nullptr) return;
  ClusterSlot* c = targets_[target].cluster;
  NodeSlot& n = c->nodes[targets_[target].node];
  if (n.opinion_id != id) return;
  n.opinion_id = 0;
  const int64_t now = clock_->MonoMs();
  if (verdict == OpinionVerdict::kReachable) {
    counters_->opinions_reachable.fetch_add(1, std::memory_order_relaxed);
    if (!n.suspect) counters_->suspect_nodes.fetch_add(1, std::memory_order_relaxed);
    n.suspect = true;
    Log(c, n, NodeStatus::kNormal, NodeStatus::kNormal, "second opinion");
    return;
  }
  (verdict == OpinionVerdict::kUnreachable ? counters_->opinions_confirmed
                                           : counters_->opinions_unanswered)
      .fetch_add(1, std::memory_order_relaxed);
  // Recovered while we asked (a success clears opinion_id, so this is a
  // node still failing): publish what it failed with.
  if (n.health.status() != NodeStatus::kNormal || n.health.failures() < c->fall) return;
  if (n.suspect) {
    n.suspect = false;
    counters_->suspect_nodes.fetch_sub(1, std::memory_order_relaxed);
  }
  n.health.Revert(n.opinion_down);
  c->downs.push_back(now);
  const std::string reason =
      std::string(ToString(n.opinion_outcome)) +
      (verdict == OpinionVerdict::kUnreachable ? ", confirmed by peers" : ", no peer answered");
  Log(c, n, NodeStatus::kNormal, n.opinion_down, reason.c_str());
  EarlyFlush(c, now);
}

void CheckEngine::ExpireOpinions(int64_t now) {
  std::vector<uint64_t> expired;
  for (const auto& [id, p] : pending_) {
    if (p.deadline <= now) expired.push_back(id);
  }
  for (uint64_t id : expired) OnOpinion(id, OpinionVerdict::kNoAnswer);
}

void CheckEngine::ProbeOnce(const Cluster& cluster, const std::string& spec, OneShotDone done) {
  std::optional<ProbeTarget> want;
  for (const Node& node : cluster.nodes) {
    if (node.Spec() == spec) {
      want = TargetFor(cluster, node, options_);
      break;
    }
  }
  if (!want || oneshots_.size() >= kMaxOneShots) {
    if (want) counters_->peer_probes_refused.fetch_add(1, std::memory_order_relaxed);
    oneshot_calls_.emplace_back(std::move(done), std::nullopt);
    return;
  }
  const uint32_t id = AllocTarget();
  Prober* p = ProberFor(want->type);
  p->AddTarget(id, *want);
  oneshots_.emplace(id, std::move(done));
  counters_->peer_probes.fetch_add(1, std::memory_order_relaxed);
  p->Start(id);
}

void CheckEngine::ReleaseOneShots() {
  auto release = std::move(oneshot_release_);
  oneshot_release_.clear();
  for (uint32_t id : release) {
    for (Prober* p : {http_, tcp_}) p->RemoveTarget(id);
    targets_[id] = TargetRef{};
    free_targets_.push_back(id);
  }
  auto calls = std::move(oneshot_calls_);
  oneshot_calls_.clear();
  for (auto& [done, outcome] : calls) done(outcome);
}

void CheckEngine::ApplyLocalHealth() {
  const bool degraded = local_.degraded();
  http_->SetWidened(degraded);
  tcp_->SetWidened(degraded);
  counters_->degraded.store(degraded ? 1 : 0, std::memory_order_relaxed);
  counters_->degraded_reason.store(static_cast<int>(local_.reason()), std::memory_order_relaxed);
  counters_->degraded_episodes.store(local_.episodes(), std::memory_order_relaxed);
}

std::vector<std::string> CheckEngine::Suspects(size_t limit) const {
  std::vector<std::string> out;
  for (const auto& c : slots_) {
    if (!c) continue;
    for (const NodeSlot& n : c->nodes) {
      if (out.size() >= limit) return out;
      if (n.suspect) out.push_back(c->def->name + "/" + n.spec);
    }
  }
  return out;
}

void CheckEngine::MaybeFinishRound(ClusterSlot* c, RoundTrack* t, int64_t now) {
  if (!t->active || !t->all_started || t->in_flight > 0) return;
  t->active = false;
  counters_->rounds.fetch_add(1, std::memory_order_relaxed);
  if (t->late) counters_->late_rounds.fetch_add(1, std::memory_order_relaxed);
  counters_->last_round_ms.store(now - t->start_ms, std::memory_order_relaxed);
  c->last_finished_round = std::max(c->last_finished_round, t->round);
  Flush(c, t->round, /*unconditional=*/!c->ever_written);
}

void CheckEngine::Flush(ClusterSlot* c, uint64_t round, bool unconditional) {
  bool changed = c->specs_changed || c->force_write;
  for (size_t i = 0; i < c->nodes.size() && !changed; ++i) {
    changed = c->nodes[i].Unwritten();
  }
  if (!unconditional && write_cache_ && !changed) {
    counters_->writes_skipped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  StatusReport report;
  report.cluster = c->def->name;
  report.owner = options_.owner_id;
  report.round = round;
  for (const NodeSlot& n : c->nodes) {
    report.nodes.emplace(n.spec, n.Reported());
  }
  Status s = sink_ ? sink_->WriteStatuses(report) : Status::Ok();
  if (!s.ok()) {
    counters_->write_errors.fetch_add(1, std::memory_order_relaxed);
    c->force_write = true;
    return;
  }
  counters_->status_writes.fetch_add(1, std::memory_order_relaxed);
  c->last_write_mono_ms = clock_->MonoMs();
  c->ever_written = true;
  c->specs_changed = false;
  c->force_write = false;
  if (c->early_flush_at >= 0) {
    c->early_flush_at = -1;
    deferred_flush_.erase(c->slot);
  }
  for (NodeSlot& n : c->nodes) n.MarkWritten();
}

void CheckEngine::UpdateGauges() {
  uint64_t clusters = 0, nodes = 0, checked = 0, keepalive = 0, short_conn = 0;
  for (const auto& c : slots_) {
    if (!c) continue;
    ++clusters;
    nodes += c->nodes.size();
    for (const NodeSlot& n : c->nodes) {
      if (n.target == kNoTarget) continue;
      ++checked;
      ++(n.probe.keepalive ? keepalive : short_conn);
    }
  }
  counters_->clusters.store(clusters, std::memory_order_relaxed);
  counters_->nodes.store(nodes, std::memory_order_relaxed);
  counters_->checked_nodes.store(checked, std::memory_order_relaxed);
  counters_->keepalive_targets.store(keepalive, std::memory_order_relaxed);
  counters_->short_targets.store(short_conn, std::memory_order_relaxed);
}

StatusReport CheckEngine::Snapshot(const std::string& cluster) const {
  StatusReport report;
  auto it = by_name_.find(cluster);
  if (it == by_name_.end()) return report;
  const ClusterSlot* c = slots_[it->second].get();
  report.cluster = cluster;
  report.owner = options_.owner_id;
  report.round = c->last_finished_round;
  for (const NodeSlot& n : c->nodes) {
    report.nodes.emplace(n.spec, n.Reported());
  }
  return report;
}

}  // namespace jcm
