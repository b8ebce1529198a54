// HeadlessBrowser: a real headless Chromium (Debian's `chromium`) driven
// over the DevTools protocol on a pipe (--remote-debugging-pipe: commands
// on the child's fd 3, replies on its fd 4, NUL-separated JSON). A test opens
// one page and then reads its DOM as often as it likes while the page keeps
// running: what the page shows after a change is what it did by itself,
// without a reload. Every console message, uncaught exception and browser
// log entry (a failed resource load) is collected for the test to check.
//
// Thread-safety: not thread-safe; owned by the test thread. The destructor
// closes the browser and kills its process group if it is still there.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace jcm::testing {

class HeadlessBrowser {
 public:
  // The browser binary: $JCM_CHROMIUM, else /usr/bin/chromium; "" when
  // neither exists (tests skip then).
  static std::string FindChromium();

  HeadlessBrowser() = default;
  ~HeadlessBrowser();
  HeadlessBrowser(const HeadlessBrowser&) = delete;
  HeadlessBrowser& operator=(const HeadlessBrowser&) = delete;

  // Starts the browser (its profile and log under `dir`) and opens `url` in
  // a new page. False with the reason in *error.
  bool Open(const std::string& chromium, const std::string& dir, const std::string& url,
            std::string* error);

  // Evaluates a JavaScript expression in the page and returns its value
  // (returnByValue), or nullopt if it threw or the browser did not answer
  // within `timeout`.
  std::optional<nlohmann::json> Eval(const std::string& expression,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Evaluates `expression` every 100 ms until it is true or `timeout`
  // passes. True iff it became true.
  bool WaitFor(const std::string& expression, std::chrono::milliseconds timeout);

  // Console messages of level error or warning, uncaught exceptions and
  // browser log entries of level error or warning, as text, since Open().
  std::vector<std::string> Problems();

  // Browser.close, then SIGKILL of the process group after a grace period.
  void Close();

  // The browser's own stderr, for failure messages.
  std::string Log() const;

 private:
  bool Send(const std::string& method, const nlohmann::json& params, const std::string& session,
            int* id);
  // Reads until the reply to `id` arrives; events read meanwhile are
  // collected. nullopt on timeout or a closed pipe.
  std::optional<nlohmann::json> Await(int id, std::chrono::milliseconds timeout);
  std::optional<nlohmann::json> Call(const std::string& method, const nlohmann::json& params,
                                     const std::string& session,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void Collect(const nlohmann::json& event);
  // Reads what is available within `timeout` into the buffer; false on EOF
  // or error.
  bool ReadSome(std::chrono::milliseconds timeout);
  std::optional<nlohmann::json> NextMessage();

  pid_t pid_ = -1;
  int to_browser_ = -1;
  int from_browser_ = -1;
  int next_id_ = 1;
  std::string session_;
  std::string buffer_;
  std::string log_path_;
  std::vector<std::string> problems_;
};

}  // namespace jcm::testing
