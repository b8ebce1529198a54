#include "tests/integration/ui/headless_browser.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "tests/support/child_process.h"

extern char** environ;

namespace jcm::testing {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// A copy of `fd` numbered 10 or above (close-on-exec), the original closed:
// dup2 onto 3 or 4 in the child then always makes a real copy, which clears
// close-on-exec, even if the pipe happened to get fd 3 or 4 here.
int Above(int fd) {
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  close(fd);
  return high;
}

}  // namespace

std::string HeadlessBrowser::FindChromium() {
  const char* env = std::getenv("JCM_CHROMIUM");
  std::string path = env && *env ? env : "/usr/bin/chromium";
  return access(path.c_str(), X_OK) == 0 ? path : "";
}

HeadlessBrowser::~HeadlessBrowser() { Close(); }

bool HeadlessBrowser::Open(const std::string& chromium, const std::string& dir,
                           const std::string& url, std::string* error) {
  // A write to a browser that died must fail with EPIPE, not kill the test.
  signal(SIGPIPE, SIG_IGN);
  int to[2], from[2];
  if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) {
    *error = std::string("pipe2: ") + std::strerror(errno);
    return false;
  }
  for (int* fd : {&to[0], &to[1], &from[0], &from[1]}) *fd = Above(*fd);
  log_path_ = dir + "/chromium.log";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_adddup2(&actions, to[0], 3);
  posix_spawn_file_actions_adddup2(&actions, from[1], 4);
  // Its own process group: Close() can then end the browser and every
  // helper process it started, and nothing else.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  std::vector<std::string> argv = {
      chromium, "--headless",
      "--no-sandbox",  // we run as root in CI containers
      "--disable-gpu", "--remote-debugging-pipe", "--user-data-dir=" + dir + "/profile",
      "--disable-dev-shm-usage",  // containers often have a tiny /dev/shm
      "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
      "--disable-background-networking", "--disable-component-update",
      // The page must poll at full speed, as in a visible tab.
      "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
      "--disable-backgrounding-occluded-windows", "--window-size=1280,800", "about:blank"};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, chromium.c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(to[0]);
  close(from[1]);
  to_browser_ = to[1];
  from_browser_ = from[0];
  if (rc != 0) {
    pid_ = -1;
    *error = "posix_spawn " + chromium + ": " + std::strerror(rc);
    return false;
  }

  // A blank page first, so the console and log domains are on before the
  // dashboard's first line of script runs.
  auto target = Call("Target.createTarget", {{"url", "about:blank"}}, "", std::chrono::seconds(30));
  if (!target || !target->contains("targetId")) {
    *error = "Target.createTarget: no answer from the browser; its log:\n" + Log();
    return false;
  }
  auto attached =
      Call("Target.attachToTarget", {{"targetId", (*target)["targetId"]}, {"flatten", true}}, "");
  if (!attached || !attached->contains("sessionId")) {
    *error = "Target.attachToTarget failed";
    return false;
  }
  session_ = (*attached)["sessionId"].get<std::string>();
  for (const char* domain : {"Runtime.enable", "Log.enable", "Page.enable"}) {
    if (!Call(domain, json::object(), session_)) {
      *error = std::string(domain) + " failed";
      return false;
    }
  }
  auto nav = Call("Page.navigate", {{"url", url}}, session_);
  if (!nav || nav->contains("errorText")) {
    *error = "Page.navigate " + url + " failed: " + (nav ? nav->dump() : std::string("no answer"));
    return false;
  }
  return true;
}

bool HeadlessBrowser::Send(const std::string& method, const json& params,
                           const std::string& session, int* id) {
  *id = next_id_++;
  json msg = {{"id", *id}, {"method", method}, {"params", params}};
  if (!session.empty()) msg["sessionId"] = session;
  std::string text = msg.dump();
  text.push_back('\0');
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(to_browser_, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool HeadlessBrowser::ReadSome(std::chrono::milliseconds timeout) {
  pollfd p{from_browser_, POLLIN, 0};
  int r = poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0) return r == 0;  // timeout: nothing yet, not an error
  char chunk[65536];
  ssize_t n = read(from_browser_, chunk, sizeof(chunk));
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::optional<json> HeadlessBrowser::NextMessage() {
  size_t end = buffer_.find('\0');
  if (end == std::string::npos) return std::nullopt;
  json msg = json::parse(buffer_.substr(0, end), nullptr, /*allow_exceptions=*/false);
  buffer_.erase(0, end + 1);
  return msg;
}

std::optional<json> HeadlessBrowser::Await(int id, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    while (auto msg = NextMessage()) {
      if (msg->is_discarded()) continue;
      if (msg->contains("id") && (*msg)["id"] == id) {
        if (msg->contains("error")) return std::nullopt;
        return msg->value("result", json::object());
      }
      if (msg->contains("method")) Collect(*msg);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (!ReadSome(std::min(left, std::chrono::milliseconds(200)))) return std::nullopt;
  }
}

std::optional<json> HeadlessBrowser::Call(const std::string& method, const json& params,
                                          const std::string& session,
                                          std::chrono::milliseconds timeout) {
  if (to_browser_ < 0) return std::nullopt;
  int id = 0;
  if (!Send(method, params, session, &id)) return std::nullopt;
  return Await(id, timeout);
}

void HeadlessBrowser::Collect(const json& event) {
  const std::string method = event.value("method", "");
  const json params = event.value("params", json::object());
  if (method == "Runtime.consoleAPICalled") {
    const std::string type = params.value("type", "");
    if (type != "error" && type != "warning" && type != "assert") return;
    std::string text = "console." + type + ":";
    for (const json& a : params.value("args", json::array())) {
      text += " " + (a.contains("value") ? a["value"].dump() : a.value("description", "?"));
    }
    problems_.push_back(text);
  } else if (method == "Runtime.exceptionThrown") {
    const json d = params.value("exceptionDetails", json::object());
    std::string text = d.value("text", "exception");
    if (d.contains("exception")) text += " " + d["exception"].value("description", "");
    problems_.push_back("uncaught: " + text);
  } else if (method == "Log.entryAdded") {
    const json e = params.value("entry", json::object());
    const std::string level = e.value("level", "");
    if (level != "error" && level != "warning") return;
    problems_.push_back("log " + level + ": " + e.value("text", "") + " " + e.value("url", ""));
  }
}

std::optional<json> HeadlessBrowser::Eval(const std::string& expression,
                                          std::chrono::milliseconds timeout) {
  auto r = Call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}}, session_,
                timeout);
  if (!r || r->contains("exceptionDetails")) return std::nullopt;
  const json result = r->value("result", json::object());
  return result.contains("value") ? result["value"] : json(nullptr);
}

bool HeadlessBrowser::WaitFor(const std::string& expression, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto v = Eval("!!(" + expression + ")");
    if (v && v->is_boolean() && v->get<bool>()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::vector<std::string> HeadlessBrowser::Problems() {
  // Take in what arrived since the last call (events the browser sent
  // while no command was waiting for its answer).
  for (;;) {
    pollfd p{from_browser_, POLLIN, 0};
    if (from_browser_ < 0 || poll(&p, 1, 0) <= 0) break;
    char chunk[65536];
    ssize_t n = read(from_browser_, chunk, sizeof(chunk));
    if (n <= 0) break;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  while (auto msg = NextMessage()) {
    if (!msg->is_discarded() && msg->contains("method")) Collect(*msg);
  }
  return problems_;
}

void HeadlessBrowser::Close() {
  if (pid_ <= 0) return;
  Call("Browser.close", json::object(), "", std::chrono::seconds(2));
  int status = 0;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  bool exited = false;
  while (Clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The whole group: the browser's renderer and utility processes too.
  kill(-pid_, SIGKILL);
  if (!exited) waitpid(pid_, &status, 0);
  pid_ = -1;
  if (to_browser_ >= 0) close(to_browser_);
  if (from_browser_ >= 0) close(from_browser_);
  to_browser_ = from_browser_ = -1;
}

std::string HeadlessBrowser::Log() const { return ReadFileOrEmpty(log_path_); }

}  // namespace jcm::testing
