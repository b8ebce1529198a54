#include "tests/integration/jcmctl/ctl_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "tests/support/child_process.h"
#include "tests/support/test_env.h"

extern char** environ;

namespace jcm::testing {
namespace {

std::string NewOutputPath(const char* what) {
  static std::atomic<int> seq{0};
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp && *tmp ? tmp : "/tmp") + "/jcmctl-it-" + std::to_string(getpid()) + "-" +
         std::to_string(seq++) + "." + what;
}

bool Dropped(const char* entry) {
  for (const char* name : {"JCM_SERVER=", "JCM_TOKEN=", "NO_COLOR="}) {
    if (std::strncmp(entry, name, std::strlen(name)) == 0) return true;
  }
  return false;
}

}  // namespace

CtlProcess::CtlProcess() : out_path_(NewOutputPath("out")), err_path_(NewOutputPath("err")) {}

CtlProcess::~CtlProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (pty_master_ >= 0) close(pty_master_);
  unlink(out_path_.c_str());
  unlink(err_path_.c_str());
}

bool CtlProcess::Start(const std::vector<std::string>& args, const std::vector<std::string>& env,
                       const std::string& stdin_path, std::string* error) {
  return Spawn(args, env, stdin_path, out_path_, error);
}

bool CtlProcess::StartOnTerminal(const std::vector<std::string>& args, std::string* error) {
  pty_master_ = posix_openpt(O_RDWR | O_NOCTTY);
  if (pty_master_ < 0 || grantpt(pty_master_) != 0 || unlockpt(pty_master_) != 0) {
    *error = std::string("pseudo-terminal: ") + std::strerror(errno);
    return false;
  }
  fcntl(pty_master_, F_SETFL, fcntl(pty_master_, F_GETFL) | O_NONBLOCK);
  const char* slave = ptsname(pty_master_);
  if (slave == nullptr) {
    *error = "ptsname failed";
    return false;
  }
  return Spawn(args, {}, "", slave, error);
}

void CtlProcess::DrainTerminal() {
  if (pty_master_ < 0) return;
  char buf[4096];
  ssize_t n;
  while ((n = read(pty_master_, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] != '\r') tty_out_.push_back(buf[i]);
    }
  }
}

bool CtlProcess::Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
                       const std::string& stdin_path, const std::string& stdout_path,
                       std::string* error) {
  std::vector<std::string> argv = {BinDir() + "/jcmctl"};
  argv.insert(argv.end(), args.begin(), args.end());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(
      &actions, 0, stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!Dropped(*e)) env_strings.emplace_back(*e);
  }
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, cargs.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = "posix_spawn " + argv[0] + ": " + std::strerror(rc);
    return false;
  }
  pid_ = pid;
  return true;
}

std::string CtlProcess::Stdout() const {
  return pty_master_ >= 0 ? tty_out_ : ReadFileOrEmpty(out_path_);
}
std::string CtlProcess::Stderr() const { return ReadFileOrEmpty(err_path_); }

CtlResult CtlProcess::Wait(std::chrono::milliseconds timeout) {
  CtlResult result;
  if (pid_ > 0) {
    int status = 0;
    const bool exited = WaitUntil(
        [&] {
          DrainTerminal();  // a full terminal buffer would block the child
          return waitpid(pid_, &status, WNOHANG) == pid_;
        },
        timeout, std::chrono::milliseconds(10));
    if (!exited) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    } else if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    }
    pid_ = -1;
  }
  DrainTerminal();
  result.out = Stdout();
  result.err = Stderr();
  return result;
}

CtlResult RunCtl(const std::vector<std::string>& args, const std::vector<std::string>& env,
                 const std::string& stdin_path, std::chrono::milliseconds timeout) {
  CtlProcess p;
  std::string error;
  if (!p.Start(args, env, stdin_path, &error)) {
    CtlResult r;
    r.err = error;
    return r;
  }
  return p.Wait(timeout);
}

}  // namespace jcm::testing
