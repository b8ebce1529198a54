// ServerConfig: jcm-server's options, from flags and an optional config file
// with the same keys (INI/TOML, e.g. `zk = "127.0.0.1:2181"`). Flags win.
//
// Thread-safety: a plain value, filled once at start.
#pragma once

#include <string>
#include <vector>

#include "model/status.h"

namespace jcm {

struct ServerConfig {
  std::string zk = "127.0.0.1:2181";
  std::string zk_root = "/jcm";
  std::string listen = "127.0.0.1:8600";
  std::string advertise;  // default: listen; "https://HOST:PORT" for TLS between instances
  int session_timeout_ms = 6000;
  int health_interval_ms = 1000;
  int health_rise = 1;
  int health_fall = 2;
  int health_fastinter_ms = 0;              // 0: interval / 4 (HealthOptions)
  int health_fastinter_max_per_sec = 1000;  // 0: no fast re-checks
  double health_max_down_share = 1.0;       // 1: no cap (HealthOptions)
  int second_opinions = 2;                  // --second-opinions; 0: off (HealthOptions)
  std::string check_source_ip;              // --check-source-ip; empty: the kernel picks
  std::string http_prober = "native";       // --http-prober native|curl (HealthOptions)
  double panic_share = 0.5;
  int http_threads = 32;                 // workers for writes and forwards
  int http_io_threads = 1;               // event loops: parsing, reads, /sub
  int max_connections = 0;               // 0: derived from RLIMIT_NOFILE (FileBudget)
  int max_long_polls = 10000;            // parked /sub long polls
  int sub_max_units = 1000;              // units per /sub request
  int http_idle_timeout_ms = 60000;      // keep-alive idle
  int http_request_deadline_ms = 10000;  // headers and body of one request
  std::string tokens_file;               // api/token_auth.h; re-read on SIGHUP
  std::string zk_auth_file;              // "user:password" (digest); empty: open ACLs
  bool zk_world_read = false;            // with zk_auth_file: others may read
  std::string check_allow;               // CIDR[,CIDR...]: only these are check targets
  std::string check_deny;                // CIDR[,CIDR...]: refused besides the built-in ones
  int max_clusters = 10000;              // clusters stored at most (0: no cap)
  int max_nodes = 1000000;               // nodes over all clusters at most (0: no cap)
  int write_hold_ms = 0;                 // 0: session timeout + 2 s
  std::string tls_listen;                // HTTPS listen address; needs tls_cert and tls_key
  std::string tls_cert;                  // PEM certificate chain; re-read on SIGHUP
  std::string tls_key;                   // PEM private key; re-read on SIGHUP
  std::string tls_ca;                    // CA (PEM) verifying https:// peers (leader forwards)
  int zk_reconnect_hold_ms = 500;        // a write waits this long for a lost ZooKeeper link
  std::string log_level = "info";

  std::string listen_host() const;
  int listen_port() const;
  std::string tls_listen_host() const;
  int tls_listen_port() const;
};

// Parses argv. Returns a Status with the usage error; `exit_now` is set when
// the caller should exit with `exit_code` (after --help, or on error).
Status ParseServerConfig(int argc, char** argv, ServerConfig* out, bool* exit_now, int* exit_code);

// Splits "host:port" / "[v6]:port". False if malformed.
bool SplitHostPort(const std::string& text, std::string* host, int* port);

// `address` without a leading "http://" or "https://".
std::string WithoutScheme(const std::string& address);

}  // namespace jcm
