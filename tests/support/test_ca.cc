#include "tests/support/test_ca.h"

#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <vector>

#include "tests/support/child_process.h"

namespace jcm::testing {
namespace {

// Runs openssl with `args`; its output goes to <dir>/openssl.log.
bool RunOpenssl(const std::string& dir, std::vector<std::string> args, std::string* error) {
  args.insert(args.begin(), "/usr/bin/openssl");
  const std::string log = dir + "/openssl.log";
  ChildProcess p;
  if (!p.Start(args, log, {}, error)) return false;
  int status = 0;
  if (!p.Wait(std::chrono::seconds(30), &status) || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    *error = "openssl " + args[1] + " failed: " + ReadFileOrEmpty(log);
    return false;
  }
  return true;
}

}  // namespace

bool TestCa::Create(const std::string& dir, const std::string& name, std::string* error) {
  dir_ = dir;
  key_ = dir + "/" + name + "-ca.key";
  cert_ = dir + "/" + name + "-ca.pem";
  return RunOpenssl(
      dir,
      {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", key_, "-out", cert_, "-days", "1", "-subj", "/CN=jcm test CA " + name, "-addext",
       "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
      error);
}

bool TestCa::Issue(const std::string& name, const std::string& cn, TestCert* out,
                   std::string* error) const {
  out->key = dir_ + "/" + name + ".key";
  out->cert = dir_ + "/" + name + ".pem";
  const std::string csr = dir_ + "/" + name + ".csr";
  const std::string ext = dir_ + "/" + name + ".ext";
  std::ofstream(ext) << "basicConstraints=CA:FALSE\n"
                     << "keyUsage=critical,digitalSignature\n"
                     << "extendedKeyUsage=serverAuth\n"
                     << "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n";
  return RunOpenssl(dir_,
                    {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", out->key, "-out", csr, "-subj", "/CN=" + cn},
                    error) &&
         RunOpenssl(dir_,
                    {"x509", "-req", "-in", csr, "-CA", cert_, "-CAkey", key_, "-CAcreateserial",
                     "-out", out->cert, "-days", "1", "-extfile", ext},
                    error);
}

}  // namespace jcm::testing
