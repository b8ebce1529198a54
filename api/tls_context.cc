#include "api/tls_context.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>

namespace jcm {

namespace ssl = boost::asio::ssl;

namespace {

std::string Describe(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (!cert) return "no certificate";
  std::string out;
  char subject[512];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  out = subject;
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio && ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    out += "; notAfter=" + std::string(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return out;
}

}  // namespace

TlsContext::TlsContext(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

TlsContext::~TlsContext() = default;

Status TlsContext::Reload() {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  // TLS 1.2 and 1.3 only; no renegotiation (a client could make the server
  // redo handshakes at will), no compression (CRIME).
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | SSL_OP_NO_RENEGOTIATION |
                   SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file_, ec);
  if (ec) {
    return Status::InvalidArgument("--tls-cert: cannot load '" + cert_file_ +
                                   "' as a PEM certificate chain: " + ec.message());
  }
  ctx->use_private_key_file(key_file_, ssl::context::pem, ec);
  if (ec && ec.category() == boost::asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    return Status::InvalidArgument("--tls-key: '" + key_file_ +
                                   "' is not the key of the certificate in '" + cert_file_ + "'");
  }
  if (ec) {
    return Status::InvalidArgument("--tls-key: cannot load '" + key_file_ +
                                   "' as a PEM private key: " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Status::InvalidArgument("--tls-key: '" + key_file_ +
                                   "' is not the key of the certificate in '" + cert_file_ + "'");
  }
  std::string description = jcm::Describe(ctx->native_handle());
  std::lock_guard lock(mu_);
  current_ = std::move(ctx);
  description_ = std::move(description);
  return Status::Ok();
}

std::shared_ptr<ssl::context> TlsContext::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::string TlsContext::Describe() const {
  std::lock_guard lock(mu_);
  return description_;
}

}  // namespace jcm
