#include "tests/support/http_target.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

namespace jcm::testing {

HttpTarget::HttpTarget(std::string host, int port, std::string check_path)
    : host_(std::move(host)), port_(port), check_path_(std::move(check_path)) {}

HttpTarget::~HttpTarget() { Stop(); }

bool HttpTarget::Start() {
  if (server_) return true;
  // A new server object per start: httplib's server is not meant to be
  // listened on again after stop().
  server_ = std::make_unique<httplib::Server>();
  server_->set_tcp_nodelay(true);
  server_->Get(check_path_, [this](const httplib::Request&, httplib::Response& res) {
    ++hits_;
    int delay = delay_ms_;
    if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    res.status = status_;
    res.set_content("ok\n", "text/plain");
  });
  if (!server_->bind_to_port(host_, port_)) {
    server_.reset();
    return false;
  }
  thread_ = std::thread([server = server_.get()] { server->listen_after_bind(); });
  // Bound already, so connections queue in the backlog until the thread
  // accepts; waiting for is_running() only makes Stop() race-free.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return true;
}

void HttpTarget::Stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

TcpTarget::TcpTarget(std::string host, int port) : host_(std::move(host)), port_(port) {}

TcpTarget::~TcpTarget() { Stop(); }

bool TcpTarget::Start() {
  if (listen_fd_ >= 0) return true;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  if (inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 128) != 0) {
    close(fd);
    return false;
  }
  listen_fd_ = fd;
  stop_ = false;
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      // A short poll so Stop() is noticed promptly without a wake-up pipe.
      if (poll(&p, 1, 50) != 1) continue;
      int c = accept(listen_fd_, nullptr, nullptr);
      if (c >= 0) {
        ++accepts_;
        close(c);
      }
    }
  });
  return true;
}

void TcpTarget::Stop() {
  if (listen_fd_ < 0) return;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  listen_fd_ = -1;
}

}  // namespace jcm::testing
