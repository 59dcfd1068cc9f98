#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

// OpenSSL macros Swift cannot import (they expand to SSL_CTX_ctrl calls or 64-bit shifts): one typed
// wrapper each. Only what the /metrics TLS server uses.
static inline int cdctop_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int cdctop_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
// Renegotiation off: a scrape is one request per connection, and client-initiated renegotiation is a DoS lever.
static inline void cdctop_ssl_ctx_set_server_options(SSL_CTX *ctx, int preferServerCiphers) {
    uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
    if (preferServerCiphers) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    SSL_CTX_set_options(ctx, options);
}
// No session cache and no TLS 1.3 tickets: each scrape is a fresh connection closed after one answer, and a
// resumed session would skip the client-certificate check against a rotated client_ca_file.
static inline void cdctop_ssl_ctx_disable_resumption(SSL_CTX *ctx) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
}
// Go's RequestClientCert and RequireAnyClientCert: ask for a certificate but accept any (exporter-toolkit's
// semantics; insecure, as its documentation says).
static inline int cdctop_accept_any_certificate(int preverified, X509_STORE_CTX *store) {
    (void)preverified; (void)store;
    return 1;
}
static inline void cdctop_ssl_ctx_set_verify(SSL_CTX *ctx, int mode, int acceptAny) {
    SSL_CTX_set_verify(ctx, mode, acceptAny ? cdctop_accept_any_certificate : NULL);
}
static inline long cdctop_bio_set_mem_eof_retry(BIO *bio) {
    return BIO_set_mem_eof_return(bio, -1);
}
