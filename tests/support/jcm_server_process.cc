#include "tests/support/jcm_server_process.h"

#include <signal.h>
#include <unistd.h>

#include "tests/support/http_json.h"
#include "tests/support/test_env.h"

namespace jcm::testing {

JcmServerProcess::JcmServerProcess(JcmServerOptions options) : options_(std::move(options)) {
  if (options_.port == 0) options_.port = FreeLoopbackPort();
  std::string dir = options_.log_dir.empty() ? "/tmp" : options_.log_dir;
  log_path_ = dir + "/jcm-server-" + std::to_string(options_.port) + ".log";
}

JcmServerProcess::~JcmServerProcess() { Kill(); }

std::string JcmServerProcess::address() const {
  return "127.0.0.1:" + std::to_string(options_.port);
}

bool JcmServerProcess::Launch(std::string* error) {
  std::string binary = BinDir() + "/jcm-server";
  if (access(binary.c_str(), X_OK) != 0) {
    *error = binary + " is not there (build the jcm-server target)";
    return false;
  }
  std::vector<std::string> argv = {binary,
                                   "--zk",
                                   options_.zk_connect,
                                   "--zk-root",
                                   options_.zk_root,
                                   "--listen",
                                   address(),
                                   "--advertise",
                                   address(),
                                   "--session-timeout-ms",
                                   std::to_string(options_.session_timeout_ms)};
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  return process_.Start(argv, log_path_, {}, error);
}

bool JcmServerProcess::WaitHealthy(std::chrono::milliseconds timeout) {
  return WaitUntil(
             [&] {
               if (!process_.running()) return true;  // stop waiting; checked below
               return HttpGet(address(), "/healthz", std::chrono::milliseconds(500)).status == 200;
             },
             timeout, std::chrono::milliseconds(50)) &&
         process_.running();
}

bool JcmServerProcess::Start(std::string* error, std::chrono::milliseconds timeout) {
  if (!Launch(error)) return false;
  if (!WaitHealthy(timeout)) {
    *error = "jcm-server on " + address() +
             " did not answer /healthz (running=" + (process_.running() ? "yes" : "no") +
             "); log:\n" + log();
    return false;
  }
  return true;
}

void JcmServerProcess::Kill() { process_.Kill(); }

bool JcmServerProcess::Term(std::chrono::milliseconds grace) { return process_.Stop(grace); }

bool JcmServerProcess::Pause() { return process_.Signal(SIGSTOP); }

bool JcmServerProcess::Resume() { return process_.Signal(SIGCONT); }

bool JcmServerProcess::Restart(std::string* error, bool hard) {
  if (hard) {
    Kill();
  } else {
    Term();
  }
  return Start(error);
}

}  // namespace jcm::testing
