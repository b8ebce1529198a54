// Status: the one error type of jcm. No exceptions cross a library boundary;
// every fallible call returns a Status (or a Result<T>) that says what went
// wrong and with which value. ZooKeeper codes are translated into it once, in
// storage/, and Status codes into HTTP codes once, in api/.
//
// Thread-safety: a Status is an immutable value; copies may be used from any
// thread.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace jcm {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad input from a caller: names the field and value
    kNotFound,
    kConflict,     // someone else changed it first, or it already exists
    kTooLarge,     // would exceed a size limit (request body, znode size)
    kUnavailable,  // ZooKeeper unreachable, no leader known, peer down
    kNotLeader,    // this instance cannot write; carries no leader address
    kTimeout,
    kUnauthenticated,   // no credential, or one that is not known
    kPermissionDenied,  // a known credential without the right
    kInternal,          // last: ApiCounters sizes its table by it
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {Code::kConflict, std::move(msg)}; }
  static Status TooLarge(std::string msg) { return {Code::kTooLarge, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status NotLeader(std::string msg) { return {Code::kNotLeader, std::move(msg)}; }
  static Status Timeout(std::string msg) { return {Code::kTimeout, std::move(msg)}; }
  static Status Unauthenticated(std::string msg) {
    return {Code::kUnauthenticated, std::move(msg)};
  }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }

  // "InvalidArgument: nodes[0].ip: '300.1.1.1' is not an IPv4 or IPv6 literal"
  std::string ToString() const;
  static const char* CodeName(Code code);

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T>: a value or the Status that explains its absence.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace jcm
