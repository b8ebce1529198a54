#include "server/server_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <CLI/CLI.hpp>

namespace jcm {

bool SplitHostPort(const std::string& text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return false;
  std::string h = text.substr(0, colon);
  if (h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int p = 0;
  for (size_t i = colon + 1; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    p = p * 10 + (text[i] - '0');
    if (p > 65535) return false;
  }
  if (h.empty()) return false;
  *host = h;
  *port = p;
  return true;
}

std::string WithoutScheme(const std::string& address) {
  for (const char* scheme : {"http://", "https://"}) {
    if (address.rfind(scheme, 0) == 0) return address.substr(std::string(scheme).size());
  }
  return address;
}

std::string ServerConfig::listen_host() const {
  std::string h;
  int p = 0;
  return SplitHostPort(listen, &h, &p) ? h : "";
}

int ServerConfig::listen_port() const {
  std::string h;
  int p = 0;
  return SplitHostPort(listen, &h, &p) ? p : -1;
}

std::string ServerConfig::tls_listen_host() const {
  std::string h;
  int p = 0;
  return SplitHostPort(tls_listen, &h, &p) ? h : "";
}

int ServerConfig::tls_listen_port() const {
  std::string h;
  int p = 0;
  return SplitHostPort(tls_listen, &h, &p) ? p : -1;
}

Status ParseServerConfig(int argc, char** argv, ServerConfig* c, bool* exit_now, int* exit_code) {
  *exit_now = false;
  *exit_code = 0;
  CLI::App app{
      "jcm-server: a name service instance. Several instances share one ZooKeeper; they elect\n"
      "a leader that writes cluster data, split health checking among themselves, and\n"
      "serve the JSON API and subscribers."};
  app.set_config("--config", "", "Read options from this file (INI/TOML; same keys as flags)");
  app.add_option("--zk", c->zk, "ZooKeeper connect string HOST:PORT[,HOST:PORT...]")
      ->capture_default_str();
  app.add_option("--zk-root", c->zk_root, "Root znode of this jcm deployment")
      ->capture_default_str();
  app.add_option("--listen", c->listen, "HTTP API listen address HOST:PORT")->capture_default_str();
  app.add_option("--advertise", c->advertise,
                 "Address other instances use to reach this one (default: --listen)");
  app.add_option("--session-timeout-ms", c->session_timeout_ms,
                 "ZooKeeper session timeout; a dead instance is noticed after it")
      ->capture_default_str()
      ->check(CLI::Range(1000, 120000));
  app.add_option("--health-interval-ms", c->health_interval_ms,
                 "Default health check interval per node")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000));
  app.add_option("--health-rise", c->health_rise,
                 "Default consecutive successes for a node to become NORMAL")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--health-fall", c->health_fall,
                 "Default consecutive failures for a node to become ABNORMAL/TIMEOUT")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--health-fastinter-ms", c->health_fastinter_ms,
                 "Re-check delay after a failed check of a healthy node (or a good check of a "
                 "rising one), until it reaches fall (or rise); 0 = interval / 4, at least 100; "
                 "a cluster's fastInterMs overrides it")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000));
  app.add_option("--health-fastinter-max-per-sec", c->health_fastinter_max_per_sec,
                 "Fast re-checks this instance makes per second at most (0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  app.add_option("--health-max-down-share", c->health_max_down_share,
                 "At most this share of a cluster's nodes may go from NORMAL to down within one "
                 "interval on this instance's checks; the rest stay NORMAL and are re-checked "
                 "(1 = no cap)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1.0));
  app.add_option("--second-opinions", c->second_opinions,
                 "Before a healthy node is published down, this many other instances (the next "
                 "on the hash ring) probe it once; if any reaches it, it stays NORMAL and is "
                 "marked suspect (0 = off; a cluster's secondOpinions overrides it)")
      ->capture_default_str()
      ->check(CLI::Range(0, 5));
  app.add_option("--check-source-ip", c->check_source_ip,
                 "Local address health checks connect from (HTTP and TCP); default: the "
                 "kernel's choice");
  app.add_option("--http-prober", c->http_prober,
                 "HTTP health check client: native (built-in HTTP/1.1) or curl (libcurl)")
      ->capture_default_str()
      ->check(CLI::IsMember({"native", "curl"}));
  app.add_option("--panic-share", c->panic_share,
                 "A cluster is in panic when fewer than this share of its online nodes are "
                 "NORMAL")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--http-threads", c->http_threads,
                 "Worker threads for writes and forwards to the leader (the routes that block)")
      ->capture_default_str()
      ->check(CLI::Range(2, 1024));
  app.add_option("--http-io-threads", c->http_io_threads,
                 "HTTP event-loop threads: connections, reads, /sub and parked long polls")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--max-connections", c->max_connections,
                 "Open API connections at most; at the cap the longest-idle one is closed "
                 "(0: derived from the open-file limit, shared with the health checker)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 24));
  app.add_option("--max-long-polls", c->max_long_polls,
                 "/sub long polls parked at once; beyond it a poll is answered at once")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 24));
  app.add_option("--sub-max-units", c->sub_max_units,
                 "Units (clusters) one /sub request may name; more is a 400")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--http-idle-timeout-ms", c->http_idle_timeout_ms,
                 "Keep-alive: close a connection idle this long between requests")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000));
  app.add_option("--http-request-deadline-ms", c->http_request_deadline_ms,
                 "A request's headers and body must arrive within this, in total")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000));
  app.add_option("--write-hold-ms", c->write_hold_ms,
                 "How long a write waits for a leader while none can take it (0: the session "
                 "timeout plus 2 s)")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  app.add_option("--zk-reconnect-hold-ms", c->zk_reconnect_hold_ms,
                 "How long a write that finds this instance's ZooKeeper connection lost waits "
                 "for it to come back (the client moving to another ensemble member, or the "
                 "ensemble electing a leader) before it is refused with 503")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  app.add_option("--tokens-file", c->tokens_file,
                 "API tokens, one '<write|read> <token>' per line: writes need a write token "
                 "once one is named, reads need a token once a read token is named; re-read on "
                 "SIGHUP");
  app.add_option("--tls-listen", c->tls_listen,
                 "HTTPS API listen address HOST:PORT, alongside the plain --listen (needs "
                 "--tls-cert and --tls-key)");
  app.add_option("--tls-cert", c->tls_cert,
                 "Server certificate chain (PEM) for --tls-listen; re-read on SIGHUP");
  app.add_option("--tls-key", c->tls_key, "Private key (PEM) of --tls-cert; re-read on SIGHUP");
  app.add_option("--tls-ca", c->tls_ca,
                 "CA certificates (PEM) that an https:// leader's certificate must chain to when "
                 "a follower forwards a write (default: the system's store)");
  app.add_option("--zk-auth-file", c->zk_auth_file,
                 "ZooKeeper credential file, one 'user:password' line (digest scheme): every "
                 "znode jcm creates gets ALL for that identity and nothing for anyone else; "
                 "existing znodes under the root are given the same ACL at start");
  app.add_flag("--zk-world-read", c->zk_world_read,
               "With --zk-auth-file: anyone may read (not write) the znodes jcm creates");
  app.add_option("--check-allow", c->check_allow,
                 "CIDR[,CIDR...]: nodes outside these networks are refused as check targets "
                 "(400); default: any address but the refused ones");
  app.add_option("--check-deny", c->check_deny,
                 "CIDR[,CIDR...]: refuse nodes in these networks (400), besides link-local "
                 "(169.254.0.0/16, fe80::/10) and unspecified (0.0.0.0, ::) addresses");
  app.add_option("--max-clusters", c->max_clusters,
                 "Clusters the deployment stores at most; creating one more is a 413 (0: no cap)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000000));
  app.add_option("--max-nodes", c->max_nodes,
                 "Nodes over all clusters at most; a write that would store more is a 413 "
                 "(0: no cap)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000000));
  app.add_option("--log-level", c->log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_now = true;
    *exit_code = app.exit(e);  // prints help or the error itself
    return Status::Ok();
  }
  if (!c->check_source_ip.empty()) {
    in6_addr buf;
    if (inet_pton(AF_INET, c->check_source_ip.c_str(), &buf) != 1 &&
        inet_pton(AF_INET6, c->check_source_ip.c_str(), &buf) != 1) {
      *exit_now = true;
      *exit_code = 2;
      return Status::InvalidArgument("--check-source-ip: '" + c->check_source_ip +
                                     "' is not an IPv4 or IPv6 address");
    }
  }
  if (c->zk_world_read && c->zk_auth_file.empty()) {
    *exit_now = true;
    *exit_code = 2;
    return Status::InvalidArgument("--zk-world-read needs --zk-auth-file");
  }
  std::string host;
  int port = 0;
  const bool tls_files = !c->tls_cert.empty() || !c->tls_key.empty();
  if (tls_files || !c->tls_listen.empty()) {
    const char* missing = c->tls_listen.empty() ? "--tls-listen"
                          : c->tls_cert.empty() ? "--tls-cert"
                          : c->tls_key.empty()  ? "--tls-key"
                                                : nullptr;
    if (missing) {
      *exit_now = true;
      *exit_code = 2;
      return Status::InvalidArgument(std::string(missing) +
                                     " is required: HTTPS needs --tls-listen, --tls-cert and "
                                     "--tls-key together");
    }
    if (!SplitHostPort(c->tls_listen, &host, &port)) {
      *exit_now = true;
      *exit_code = 2;
      return Status::InvalidArgument("--tls-listen: '" + c->tls_listen + "' is not HOST:PORT");
    }
  }
  if (!SplitHostPort(c->listen, &host, &port)) {
    *exit_now = true;
    *exit_code = 2;
    return Status::InvalidArgument("--listen: '" + c->listen + "' is not HOST:PORT");
  }
  if (c->advertise.empty()) {
    if (host == "0.0.0.0" || host == "::") {
      *exit_now = true;
      *exit_code = 2;
      return Status::InvalidArgument("--advertise is required when --listen is a wildcard");
    }
    c->advertise = c->listen;
  } else if (!SplitHostPort(WithoutScheme(c->advertise), &host, &port) ||
             WithoutScheme(c->advertise).find('/') != std::string::npos) {
    *exit_now = true;
    *exit_code = 2;
    return Status::InvalidArgument("--advertise: '" + c->advertise +
                                   "' is not HOST:PORT, http://HOST:PORT or https://HOST:PORT");
  }
  return Status::Ok();
}

}  // namespace jcm
