#include "apiserver/net/tls.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

/* ALPN: the client's order does not matter; h2 wins when offered (as in Go). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char *const prefs[] = {(const unsigned char *)"\x02h2",
                                                 (const unsigned char *)"\x08http/1.1"};
    for (size_t p = 0; p < 2; p++) {
        for (unsigned int i = 0; i < inlen; i += 1u + in[i]) {
            if (in[i] == prefs[p][0] && i + 1u + in[i] <= inlen &&
                !memcmp(in + i + 1, prefs[p] + 1, in[i])) {
                *out = in + i + 1;
                *outlen = in[i];
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* A client without a certificate is fine (it may use a token or be anonymous); a
 * client with a certificate must present one the CA signed. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    return ok;
}

static void fail(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, errlen, "%s: %s", what, buf);
    ERR_clear_error();
}

SSL_CTX *vk_tls_server_ctx(const char *cert_file, const char *key_file, const char *client_ca_file,
                           char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        fail(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* TLS 1.2: forward-secret AEAD suites only, as Go offers by default. */
    if (!SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20")) {
        fail(err, errlen, "cipher list");
        goto bad;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        fail(err, errlen, "serving certificate");
        goto bad;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        fail(err, errlen, "serving key");
        goto bad;
    }
    if (client_ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, client_ca_file, NULL) != 1) {
            fail(err, errlen, "client CA");
            goto bad;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca_file);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
        SSL_CTX_set_verify_depth(ctx, 4);
    }
    static const unsigned char sid[] = "vkube";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
bad:
    SSL_CTX_free(ctx);
    return NULL;
}
