/* vk_pki: the cluster's certificates and keys, created on first start and reused after.
 *
 * Layout under the data dir <dir>:
 *   <dir>/pki/            0700
 *     ca.crt, ca.key      cluster CA (self-signed, 10 years)
 *     apiserver.crt/.key  serving certificate (1 year, SANs for every name of the API)
 *     admin.crt/.key      admin client certificate (CN kubernetes-admin, O system:masters)
 *     sa.key, sa.pub      service-account token signing key (ES256) and its public half
 *   <dir>/kubeconfig      admin kubeconfig, rewritten at every start
 *
 * Invariants:
 * - Every key is ECDSA P-256 (one constant in pki.c); keys and the kubeconfig are 0600,
 *   certificates 0644, the pki dir 0700. Every file is written atomically (temp file,
 *   fsync, rename), so a crash leaves either the old or the new file, never half of one.
 * - The CA is never replaced once it exists: a CA file that cannot be read, does not parse,
 *   does not match its key or has expired makes vk_pki_load fail with a message naming the
 *   file. The same holds for any other file that exists but does not parse.
 * - Leaf certificates (serving, admin) are re-issued from the CA when missing, when they
 *   expire within 30 days, when they were not issued by the current CA or do not match
 *   their key, and (serving) when their SANs do not cover the current names and IPs.
 * - A vk_pki is immutable after vk_pki_load; its accessors may be called from any thread. */
#ifndef VK_APISERVER_AUTH_PKI_H
#define VK_APISERVER_AUTH_PKI_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct vk_pki_opts {
    const char *dir;               /* data dir; PKI goes in <dir>/pki (0700), kubeconfig at
                                      <dir>/kubeconfig. Required. Created 0700 if missing (its
                                      parent must exist). */
    const char *cluster_name;      /* kubeconfig cluster/context name, default "vkube";
                                      1-253 of [A-Za-z0-9._-]. The user is "<name>-admin". */
    const char *cluster_domain;    /* default "cluster.local"; a DNS name */
    const char *advertise_address; /* IP or DNS name, may be NULL or "" */
    const char *service_cidr;      /* default "10.96.0.0/12"; first IP (10.96.0.1) goes into
                                      the SANs */
    const char *server_url;        /* e.g. "https://127.0.0.1:6443" (the default), written into
                                      the kubeconfig; must start with https:// and hold only
                                      printable ASCII without spaces */
} vk_pki_opts;

/* The files of a loaded PKI, for vk_pki_path. */
enum vk_pki_file {
    VK_PKI_CA_CRT,
    VK_PKI_CA_KEY,
    VK_PKI_SERVING_CRT,
    VK_PKI_SERVING_KEY,
    VK_PKI_ADMIN_CRT,
    VK_PKI_ADMIN_KEY,
    VK_PKI_SA_KEY,
    VK_PKI_SA_PUB,
    VK_PKI_KUBECONFIG,
    VK_PKI_FILE_COUNT
};

typedef struct vk_pki vk_pki; /* opaque */

/* Loads the PKI from <dir>/pki, creating what is missing (first start) and reusing it
 * afterwards, then writes <dir>/kubeconfig (admin). On success *out is a new vk_pki the
 * caller frees with vk_pki_free. On failure *out is NULL, err (if errlen > 0) holds a
 * one-line message naming the file at fault, and the result is:
 *   VK_EINVALID  bad options, or an existing file is corrupt / inconsistent (not rewritten)
 *   VK_ETOOLARGE an existing file is larger than 1 MiB
 *   -errno       a system call failed (mkdir, open, write, fsync, rename, ...)
 *   -EIO         OpenSSL failed unexpectedly (key generation, signing)
 *   -ENOMEM      out of memory
 * Not safe to call concurrently on the same dir (from threads or processes). */
int vk_pki_load(const vk_pki_opts *o, vk_pki **out, char *err, size_t errlen);

/* Frees p and everything it owns; vk_pki_free(NULL) is a no-op. */
void vk_pki_free(vk_pki *p);

/* Absolute or dir-relative path (as given in opts.dir) of file f, owned by p; NULL when f is
 * out of range. */
const char *vk_pki_path(const vk_pki *p, enum vk_pki_file f);

/* The cluster CA certificate, borrowed from p (X509_up_ref it to keep it longer). */
X509 *vk_pki_ca_cert(const vk_pki *p);

/* The service-account token signing key (EC P-256, ES256), borrowed from p. */
EVP_PKEY *vk_pki_sa_key(const vk_pki *p);

/* The CA certificate as PEM text (one certificate, NUL-terminated), borrowed from p. */
const char *vk_pki_ca_pem(const vk_pki *p);

/* Writes the first usable IP of a CIDR to out: the network address plus one
 * ("10.96.0.0/12" -> "10.96.0.1", "fd00::/108" -> "fd00::1"). Host bits in the address are
 * ignored (masked) as Go's net.ParseCIDR does. Returns 0, or VK_EINVALID when cidr is not
 * "<IPv4 or IPv6>/<prefix>" with a canonical decimal prefix, when the range has no second
 * address (/32, /128), or when outlen is too small (INET6_ADDRSTRLEN always suffices). */
int vk_cidr_first_ip(const char *cidr, char *out, size_t outlen);

#endif
