/* TLS settings for the API listener: TLS 1.2 and 1.3 only, ALPN h2 and http/1.1,
 * client certificates verified against the cluster CA when a client sends one. */
#ifndef VK_NET_TLS_H
#define VK_NET_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

/* A server context from PEM files. Returns NULL with a message in err on failure.
 * The caller frees it with SSL_CTX_free. */
SSL_CTX *vk_tls_server_ctx(const char *cert_file, const char *key_file, const char *client_ca_file,
                           char *err, size_t errlen);

#endif
