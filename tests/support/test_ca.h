// TestCa: a throwaway certificate authority for one test, made with the
// openssl command-line tool (Debian's `openssl` package) in a test
// directory: its certificate, and server certificates it signs for the
// loopback names (subjectAltName IP:127.0.0.1, IP:::1, DNS:localhost).
// EC P-256 keys, valid for a day: fast to make, never trusted anywhere else.
//
// Thread-safety: not thread-safe; owned by one test thread.
#pragma once

#include <string>

namespace jcm::testing {

struct TestCert {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key
};

class TestCa {
 public:
  // Makes `<dir>/<name>-ca.key` and the self-signed `<dir>/<name>-ca.pem`.
  // False with the reason (openssl's output) in *error.
  bool Create(const std::string& dir, const std::string& name, std::string* error);
  // Makes `<dir>/<name>.key` and `<dir>/<name>.pem` with subject CN=`cn`,
  // signed by this CA.
  bool Issue(const std::string& name, const std::string& cn, TestCert* out,
             std::string* error) const;

  const std::string& cert() const { return cert_; }  // the CA certificate: a trust file

 private:
  std::string dir_;
  std::string cert_;
  std::string key_;
};

}  // namespace jcm::testing
