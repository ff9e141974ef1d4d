/* Cluster PKI: CA, serving and admin certificates, service-account key, admin kubeconfig.
 *
 * Invariants (see pki.h for the contract):
 * - All keys come from new_key(), so VK_PKI_KEY_ALG/VK_PKI_KEY_CURVE are the one place that
 *   names the key type.
 * - Nothing is written before every existing file has been read and checked, except the
 *   pki dir itself; a failed load never rewrites an existing CA.
 * - OpenSSL's error queue is left empty on return (errors are turned into err messages).
 * - The kubeconfig is produced by libyaml's emitter; every variable value is emitted
 *   double-quoted, so no value can change the document's structure or type. */
#include "apiserver/auth/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <yaml.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"

/* The one key type: ECDSA on P-256 (fast to generate; tokens are ES256). */
#define VK_PKI_KEY_ALG   "EC"
#define VK_PKI_KEY_CURVE "P-256"

#define CA_DAYS        3650
#define LEAF_DAYS      365
#define RENEW_BEFORE   (30L * 24 * 3600) /* re-issue leaves expiring within this */
#define BACKDATE_SECS  300               /* notBefore slack for clock skew */
#define MAX_FILE       (1 << 20)
#define ADMIN_CN       "kubernetes-admin"
#define ADMIN_O        "system:masters"
#define SERVING_CN     "kube-apiserver"
#define DEFAULT_NAME   "vkube"
#define DEFAULT_DOMAIN "cluster.local"
#define DEFAULT_CIDR   "10.96.0.0/12"
#define DEFAULT_URL    "https://127.0.0.1:6443"
#define MODE_KEY       0600
#define MODE_CRT       0644
#define MAX_SANS       16

struct vk_pki {
    char *path[VK_PKI_FILE_COUNT];
    X509 *ca;
    EVP_PKEY *ca_key;
    EVP_PKEY *sa_key;
    char *ca_pem;
};

static const char *const file_name[VK_PKI_FILE_COUNT] = {
    [VK_PKI_CA_CRT] = "pki/ca.crt",
    [VK_PKI_CA_KEY] = "pki/ca.key",
    [VK_PKI_SERVING_CRT] = "pki/apiserver.crt",
    [VK_PKI_SERVING_KEY] = "pki/apiserver.key",
    [VK_PKI_ADMIN_CRT] = "pki/admin.crt",
    [VK_PKI_ADMIN_KEY] = "pki/admin.key",
    [VK_PKI_SA_KEY] = "pki/sa.key",
    [VK_PKI_SA_PUB] = "pki/sa.pub",
    [VK_PKI_KUBECONFIG] = "kubeconfig",
};

/* State of one load: the options with defaults applied and the names the serving
 * certificate must cover. */
struct ctx {
    const char *dir, *name, *domain, *advertise, *url;
    char service_ip[INET6_ADDRSTRLEN];
    char svc_fqdn[300];
    const char *dns[MAX_SANS];
    const char *ips[MAX_SANS];
    int ndns, nips;
    bool pki_dir_dirty, data_dir_dirty; /* a rename happened: fsync the dir at the end */
    char *err;
    size_t errlen;
};

/* ---- errors ------------------------------------------------------------------------- */

/* Formats the message into c->err, appends OpenSSL's last queued error if any, empties the
 * queue and returns rc. */
static int fail(struct ctx *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, int rc, const char *fmt, ...)
{
    unsigned long e = ERR_peek_last_error();
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
        size_t n = strlen(c->err);
        if (e && n + 3 < c->errlen) {
            char es[256];
            ERR_error_string_n(e, es, sizeof es);
            snprintf(c->err + n, c->errlen - n, " (%s)", es);
        }
    }
    ERR_clear_error();
    return rc;
}

/* ---- files -------------------------------------------------------------------------- */

/* Reads a whole file. 0, -ENOENT when missing, VK_ETOOLARGE, or -errno. */
static int read_file(const char *path, vk_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (;;) {
        if (out->len >= MAX_FILE) {
            rc = VK_ETOOLARGE;
            break;
        }
        if (vk_buf_reserve(out, 4096)) {
            rc = -ENOMEM;
            break;
        }
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        out->data[out->len] = 0;
    }
    close(fd);
    return rc;
}

/* Writes path atomically with the given mode: a temp file in the same dir, written,
 * fsync'ed, then renamed over path. The caller fsyncs the dir afterwards. 0 or -errno. */
static int write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 8);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".XXXXXX", 8);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = -errno;
        free(tmp);
        return e;
    }
    int rc = 0;
    if (fchmod(fd, mode) < 0)
        rc = -errno;
    const char *p = data;
    while (!rc && len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -errno;
        else {
            p += n;
            len -= (size_t)n;
        }
    }
    if (!rc && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Creates dir with mode 0700 if missing; an existing dir must be a directory. 0 or -errno. */
static int ensure_dir(const char *path, bool tighten)
{
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(path, &st) < 0) /* a symlink to a directory is fine */
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (tighten && (st.st_mode & 077)) {
        if (chmod(path, 0700) < 0)
            return -errno;
        vk_log(VK_LOG_WARN, "pki", "Tightened permissions", "path=\"%s\" mode=\"0700\"", path);
    }
    return 0;
}

/* Keys written by an older version or by hand with a wider mode are narrowed to 0600. */
static void tighten_key_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077) && chmod(path, MODE_KEY) == 0)
        vk_log(VK_LOG_WARN, "pki", "Tightened permissions", "path=\"%s\" mode=\"0600\"", path);
}

static int save(struct ctx *c, const char *path, const vk_buf *b, mode_t mode, bool in_pki)
{
    int rc = write_atomic(path, b->data, b->len, mode);
    if (rc)
        return fail(c, rc, "pki: write %s: %s", path, vk_strerror(rc));
    if (in_pki)
        c->pki_dir_dirty = true;
    else
        c->data_dir_dirty = true;
    return 0;
}

/* ---- PEM ---------------------------------------------------------------------------- */

/* Refuses encrypted keys instead of prompting on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return 0;
}

static int bio_to_buf(BIO *bio, vk_buf *out)
{
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    if (n < 0 || vk_buf_append(out, p, (size_t)n))
        return -ENOMEM;
    return 0;
}

enum pem_kind { PEM_CERT, PEM_KEY, PEM_PUBKEY };

/* Encodes obj (X509 or EVP_PKEY) as PEM into out. 0 or -EIO. */
static int to_pem(enum pem_kind kind, void *obj, vk_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return -ENOMEM;
    int ok = kind == PEM_CERT  ? PEM_write_bio_X509(bio, obj)
             : kind == PEM_KEY ? PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL)
                               : PEM_write_bio_PUBKEY(bio, obj);
    int rc = ok == 1 ? bio_to_buf(bio, out) : -EIO;
    BIO_free(bio);
    return rc;
}

/* Loads one PEM object from path into *obj. 0, -ENOENT (missing), VK_EINVALID (does not
 * parse; message in c->err), or another error with a message. */
static int load_pem(struct ctx *c, const char *path, enum pem_kind kind, void **obj)
{
    *obj = NULL;
    vk_buf b = {0};
    int rc = read_file(path, &b);
    if (rc == -ENOENT) {
        vk_buf_free(&b);
        return rc;
    }
    if (rc) {
        vk_buf_free(&b);
        return fail(c, rc, "pki: read %s: %s", path, vk_strerror(rc));
    }
    BIO *bio = b.len ? BIO_new_mem_buf(b.data, (int)b.len) : NULL;
    if (bio) {
        if (kind == PEM_CERT)
            *obj = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
        else
            *obj = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
    }
    vk_buf_free(&b);
    if (!*obj)
        return fail(c, VK_EINVALID,
                    "pki: %s is corrupt: not a PEM %s; fix or remove it (removing the CA "
                    "invalidates every issued certificate and kubeconfig)",
                    path, kind == PEM_CERT ? "certificate" : "private key");
    return 0;
}

/* ---- keys and certificates ---------------------------------------------------------- */

static EVP_PKEY *new_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, VK_PKI_KEY_ALG, VK_PKI_KEY_CURVE);
}

static bool is_pki_key_type(EVP_PKEY *k)
{
    char group[64];
    if (!EVP_PKEY_is_a(k, VK_PKI_KEY_ALG) || !EVP_PKEY_get_group_name(k, group, sizeof group, NULL))
        return false;
    int nid = OBJ_sn2nid(group);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(group);
    return nid != NID_undef && nid == EC_curve_nist2nid(VK_PKI_KEY_CURVE);
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int push_name(GENERAL_NAMES *gens, int type, const char *s)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    if (!g)
        return -1;
    if (type == GEN_IPADD) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s);
        if (!ip) {
            GENERAL_NAME_free(g);
            return -1;
        }
        GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
    } else {
        ASN1_IA5STRING *dns = ASN1_IA5STRING_new();
        if (!dns || !ASN1_STRING_set(dns, s, (int)strlen(s))) {
            ASN1_IA5STRING_free(dns);
            GENERAL_NAME_free(g);
            return -1;
        }
        GENERAL_NAME_set0_value(g, GEN_DNS, dns);
    }
    if (!sk_GENERAL_NAME_push(gens, g)) {
        GENERAL_NAME_free(g);
        return -1;
    }
    return 0;
}

static int add_sans(X509 *x, const struct ctx *c)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int rc = gens ? 0 : -1;
    for (int i = 0; !rc && i < c->ndns; i++)
        rc = push_name(gens, GEN_DNS, c->dns[i]);
    for (int i = 0; !rc && i < c->nips; i++)
        rc = push_name(gens, GEN_IPADD, c->ips[i]);
    if (!rc && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
        rc = -1;
    GENERAL_NAMES_free(gens);
    return rc;
}

/* 128 random bits, as a positive INTEGER (DER adds a leading 0 byte when needed). */
static int set_random_serial(X509 *x)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    if (!bn)
        return -1;
    if (BN_is_zero(bn))
        BN_one(bn);
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    int ok = ai && X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
    return ok ? 0 : -1;
}

enum cert_kind { CERT_CA, CERT_SERVING, CERT_CLIENT };

/* Builds and signs a certificate for key. CA: self-signed (issuer/issuer_key ignored).
 * Returns a new X509 or NULL (OpenSSL error queued). */
static X509 *make_cert(const struct ctx *c, enum cert_kind kind, EVP_PKEY *key, const char *cn,
                       const char *org, X509 *issuer, EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!x || !name)
        goto fail;
    if (kind == CERT_CA) {
        issuer = x;
        issuer_key = key;
    }
    if (!X509_set_version(x, X509_VERSION_3) || set_random_serial(x))
        goto fail;
    if (org && !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1,
                                           -1, 0))
        goto fail;
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0))
        goto fail;
    if (!X509_set_subject_name(x, name))
        goto fail;
    if (!X509_set_issuer_name(x, kind == CERT_CA ? name : X509_get_subject_name(issuer)))
        goto fail;
    if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -BACKDATE_SECS, NULL) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), kind == CERT_CA ? CA_DAYS : LEAF_DAYS, 0, NULL))
        goto fail;
    if (!X509_set_pubkey(x, key))
        goto fail;

    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    if (kind == CERT_CA) {
        if (add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE") ||
            add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") ||
            add_ext(x, &v3, NID_subject_key_identifier, "hash"))
            goto fail;
    } else {
        if (add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
            add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") ||
            add_ext(x, &v3, NID_ext_key_usage,
                    kind == CERT_SERVING ? "serverAuth" : "clientAuth") ||
            add_ext(x, &v3, NID_subject_key_identifier, "hash") ||
            add_ext(x, &v3, NID_authority_key_identifier, "keyid,issuer"))
            goto fail;
        if (kind == CERT_SERVING && add_sans(x, c))
            goto fail;
    }
    /* EdDSA keys (a CA brought by the operator) sign without a separate digest. */
    const EVP_MD *md = EVP_PKEY_is_a(issuer_key, "ED25519") || EVP_PKEY_is_a(issuer_key, "ED448")
                           ? NULL
                           : EVP_sha256();
    if (X509_sign(x, issuer_key, md) <= 0)
        goto fail;
    X509_NAME_free(name);
    return x;
fail:
    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}

/* ---- the CA ------------------------------------------------------------------------- */

static int create_ca(struct ctx *c, vk_pki *p)
{
    char cn[64];
    snprintf(cn, sizeof cn, "vkube-ca@%lld", (long long)time(NULL));
    p->ca_key = new_key();
    if (!p->ca_key)
        return fail(c, -EIO, "pki: generate CA key");
    p->ca = make_cert(c, CERT_CA, p->ca_key, cn, NULL, NULL, NULL);
    if (!p->ca)
        return fail(c, -EIO, "pki: create CA certificate");
    vk_buf kb = {0}, cb = {0};
    int rc = to_pem(PEM_KEY, p->ca_key, &kb);
    if (!rc)
        rc = to_pem(PEM_CERT, p->ca, &cb);
    if (rc)
        rc = fail(c, rc, "pki: encode CA");
    /* The key first: a crash before the certificate is written leaves a lone key, which
     * the next start reports instead of silently minting a second CA. */
    if (!rc)
        rc = save(c, p->path[VK_PKI_CA_KEY], &kb, MODE_KEY, true);
    if (!rc)
        rc = save(c, p->path[VK_PKI_CA_CRT], &cb, MODE_CRT, true);
    OPENSSL_cleanse(kb.data, kb.len);
    vk_buf_free(&kb);
    vk_buf_free(&cb);
    if (!rc)
        vk_log(VK_LOG_INFO, "pki", "Created cluster CA", "path=\"%s\" subject=\"CN=%s\"",
               p->path[VK_PKI_CA_CRT], cn);
    return rc;
}

static int load_ca(struct ctx *c, vk_pki *p)
{
    const char *crt = p->path[VK_PKI_CA_CRT], *key = p->path[VK_PKI_CA_KEY];
    int rc1 = load_pem(c, crt, PEM_CERT, (void **)&p->ca);
    if (rc1 && rc1 != -ENOENT)
        return rc1;
    int rc2 = load_pem(c, key, PEM_KEY, (void **)&p->ca_key);
    if (rc2 && rc2 != -ENOENT)
        return rc2;
    if (rc1 == -ENOENT && rc2 == -ENOENT)
        return create_ca(c, p);
    if (rc1 == -ENOENT || rc2 == -ENOENT)
        return fail(c, VK_EINVALID,
                    "pki: %s exists but %s is missing; restore it, or remove both to create a "
                    "new CA (which invalidates every issued certificate and kubeconfig)",
                    rc1 ? key : crt, rc1 ? crt : key);
    tighten_key_mode(key);
    if (X509_check_private_key(p->ca, p->ca_key) != 1)
        return fail(c, VK_EINVALID, "pki: %s does not match the CA certificate %s", key, crt);
    if (X509_check_ca(p->ca) < 1)
        return fail(c, VK_EINVALID, "pki: %s is not a CA certificate", crt);
    time_t now = time(NULL), soon = now + RENEW_BEFORE;
    if (X509_cmp_time(X509_get0_notAfter(p->ca), &now) <= 0)
        return fail(c, VK_EINVALID,
                    "pki: the CA certificate %s has expired; remove the pki dir to create a "
                    "new CA",
                    crt);
    if (X509_cmp_time(X509_get0_notAfter(p->ca), &soon) <= 0)
        vk_log(VK_LOG_WARN, "pki", "Cluster CA expires within 30 days", "path=\"%s\"", crt);
    return 0;
}

/* ---- leaf certificates -------------------------------------------------------------- */

struct leaf {
    const char *what;
    enum vk_pki_file crt, key;
    enum cert_kind kind;
    const char *cn, *org;
};

static const struct leaf leaf_serving = {
    "serving certificate", VK_PKI_SERVING_CRT, VK_PKI_SERVING_KEY, CERT_SERVING, SERVING_CN, NULL};
static const struct leaf leaf_admin = {"admin certificate", VK_PKI_ADMIN_CRT, VK_PKI_ADMIN_KEY,
                                       CERT_CLIENT,         ADMIN_CN,         ADMIN_O};

/* Why cert (with key) must be re-issued, or NULL when it can be kept. */
static const char *leaf_stale(const struct ctx *c, const struct leaf *l, X509 *cert, EVP_PKEY *key,
                              const vk_pki *p)
{
    time_t now = time(NULL), soon = now + RENEW_BEFORE;
    const char *why = NULL;
    if (X509_check_issued(p->ca, cert) != X509_V_OK ||
        X509_verify(cert, X509_get0_pubkey(p->ca)) != 1)
        why = "not issued by the current CA";
    else if (X509_check_private_key(cert, key) != 1)
        why = "does not match its key";
    else if (X509_cmp_time(X509_get0_notAfter(cert), &soon) <= 0)
        why = "expires within 30 days";
    else if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0)
        why = "not valid yet";
    for (int i = 0; !why && l->kind == CERT_SERVING && i < c->ndns; i++)
        if (X509_check_host(cert, c->dns[i], 0,
                            X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                            NULL) != 1)
            why = "SANs do not cover the current names";
    for (int i = 0; !why && l->kind == CERT_SERVING && i < c->nips; i++)
        if (X509_check_ip_asc(cert, c->ips[i], 0) != 1)
            why = "SANs do not cover the current IPs";
    ERR_clear_error();
    return why;
}

static int issue_leaf(struct ctx *c, const struct leaf *l, vk_pki *p, const char *why)
{
    EVP_PKEY *key = new_key();
    if (!key)
        return fail(c, -EIO, "pki: generate %s key", l->what);
    X509 *cert = make_cert(c, l->kind, key, l->cn, l->org, p->ca, p->ca_key);
    if (!cert) {
        EVP_PKEY_free(key);
        return fail(c, -EIO, "pki: issue %s", l->what);
    }
    vk_buf kb = {0}, cb = {0};
    int rc = to_pem(PEM_KEY, key, &kb);
    if (!rc)
        rc = to_pem(PEM_CERT, cert, &cb);
    if (rc)
        rc = fail(c, rc, "pki: encode %s", l->what);
    /* Key first: after a crash in between, the old certificate no longer matches the new
     * key, and the next start re-issues it. */
    if (!rc)
        rc = save(c, p->path[l->key], &kb, MODE_KEY, true);
    if (!rc)
        rc = save(c, p->path[l->crt], &cb, MODE_CRT, true);
    OPENSSL_cleanse(kb.data, kb.len);
    vk_buf_free(&kb);
    vk_buf_free(&cb);
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!rc)
        vk_log(VK_LOG_INFO, "pki", "Issued certificate", "what=\"%s\" path=\"%s\" reason=\"%s\"",
               l->what, p->path[l->crt], why);
    return rc;
}

static int ensure_leaf(struct ctx *c, const struct leaf *l, vk_pki *p)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    const char *why = NULL;
    int rc = load_pem(c, p->path[l->crt], PEM_CERT, (void **)&cert);
    if (rc == -ENOENT)
        why = "missing";
    else if (rc)
        return rc;
    rc = load_pem(c, p->path[l->key], PEM_KEY, (void **)&key);
    if (rc == -ENOENT) {
        if (!why)
            why = "key missing";
    } else if (rc) {
        goto out;
    }
    if (!why) {
        tighten_key_mode(p->path[l->key]);
        why = leaf_stale(c, l, cert, key, p);
    }
    rc = why ? issue_leaf(c, l, p, why) : 0;
out:
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- service-account key ------------------------------------------------------------ */

static int ensure_sa_key(struct ctx *c, vk_pki *p)
{
    const char *kpath = p->path[VK_PKI_SA_KEY], *ppath = p->path[VK_PKI_SA_PUB];
    int rc = load_pem(c, kpath, PEM_KEY, (void **)&p->sa_key);
    if (rc && rc != -ENOENT)
        return rc;
    vk_buf b = {0}, old = {0};
    if (rc == -ENOENT) {
        p->sa_key = new_key();
        if (!p->sa_key)
            return fail(c, -EIO, "pki: generate service-account key");
        rc = to_pem(PEM_KEY, p->sa_key, &b);
        if (rc)
            rc = fail(c, rc, "pki: encode service-account key");
        if (!rc)
            rc = save(c, kpath, &b, MODE_KEY, true);
        OPENSSL_cleanse(b.data, b.len);
        vk_buf_reset(&b);
        if (rc)
            goto out;
        vk_log(VK_LOG_INFO, "pki", "Created service-account signing key", "path=\"%s\"", kpath);
    } else {
        tighten_key_mode(kpath);
        if (!is_pki_key_type(p->sa_key)) {
            rc = fail(c, VK_EINVALID, "pki: %s is not an EC %s key (tokens are ES256)", kpath,
                      VK_PKI_KEY_CURVE);
            goto out;
        }
    }
    /* sa.pub is derived data: rewritten whenever it differs from sa.key's public half. */
    rc = to_pem(PEM_PUBKEY, p->sa_key, &b);
    if (rc) {
        rc = fail(c, rc, "pki: encode service-account public key");
        goto out;
    }
    int r = read_file(ppath, &old);
    if (r || old.len != b.len || memcmp(old.data, b.data, b.len) != 0)
        rc = save(c, ppath, &b, MODE_CRT, true);
out:
    vk_buf_free(&b);
    vk_buf_free(&old);
    return rc;
}

/* ---- kubeconfig --------------------------------------------------------------------- */

static int yaml_to_buf(void *data, unsigned char *buffer, size_t size)
{
    return vk_buf_append(data, buffer, size) == 0;
}

/* Emits a scalar. Quoted values are always double-quoted strings, whatever they hold. */
static int y_scalar(yaml_emitter_t *em, const char *s, bool quoted)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                      quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                             : YAML_PLAIN_SCALAR_STYLE))
        return -1;
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int y_event(yaml_emitter_t *em, int type)
{
    yaml_event_t ev;
    int ok = 0;
    switch (type) {
    case YAML_MAPPING_START_EVENT:
        ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        break;
    case YAML_MAPPING_END_EVENT:
        ok = yaml_mapping_end_event_initialize(&ev);
        break;
    case YAML_SEQUENCE_START_EVENT:
        ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        break;
    case YAML_SEQUENCE_END_EVENT:
        ok = yaml_sequence_end_event_initialize(&ev);
        break;
    }
    if (!ok)
        return -1;
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

/* key: "value" (value quoted) or key: value (constant, plain). */
static int y_kv(yaml_emitter_t *em, const char *k, const char *v, bool quoted)
{
    return y_scalar(em, k, false) || y_scalar(em, v, quoted) ? -1 : 0;
}

/* The base64 (no line breaks) of b. NULL on allocation failure; caller frees. */
static char *base64(const vk_buf *b)
{
    char *out = malloc(4 * ((b->len + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)b->data, (int)b->len);
    return out;
}

static int emit_kubeconfig(yaml_emitter_t *em, const struct ctx *c, const char *user,
                           const char *ca, const char *crt, const char *key)
{
    yaml_event_t ev;
    int rc = 0;
#define E(x)                                                                                       \
    do {                                                                                           \
        if (!rc && (x))                                                                            \
            rc = -1;                                                                               \
    } while (0)
    E(!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(em, &ev));
    E(!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
      !yaml_emitter_emit(em, &ev));
    E(y_event(em, YAML_MAPPING_START_EVENT));
    E(y_kv(em, "apiVersion", "v1", false));
    E(y_kv(em, "kind", "Config", false));
    E(y_scalar(em, "clusters", false));
    E(y_event(em, YAML_SEQUENCE_START_EVENT));
    E(y_event(em, YAML_MAPPING_START_EVENT));
    E(y_kv(em, "name", c->name, true));
    E(y_scalar(em, "cluster", false));
    E(y_event(em, YAML_MAPPING_START_EVENT));
    E(y_kv(em, "server", c->url, true));
    E(y_kv(em, "certificate-authority-data", ca, true));
    E(y_event(em, YAML_MAPPING_END_EVENT));
    E(y_event(em, YAML_MAPPING_END_EVENT));
    E(y_event(em, YAML_SEQUENCE_END_EVENT));
    E(y_scalar(em, "users", false));
    E(y_event(em, YAML_SEQUENCE_START_EVENT));
    E(y_event(em, YAML_MAPPING_START_EVENT));
    E(y_kv(em, "name", user, true));
    E(y_scalar(em, "user", false));
    E(y_event(em, YAML_MAPPING_START_EVENT));
    E(y_kv(em, "client-certificate-data", crt, true));
    E(y_kv(em, "client-key-data", key, true));
    E(y_event(em, YAML_MAPPING_END_EVENT));
    E(y_event(em, YAML_MAPPING_END_EVENT));
    E(y_event(em, YAML_SEQUENCE_END_EVENT));
    E(y_scalar(em, "contexts", false));
    E(y_event(em, YAML_SEQUENCE_START_EVENT));
    E(y_event(em, YAML_MAPPING_START_EVENT));
    E(y_kv(em, "name", c->name, true));
    E(y_scalar(em, "context", false));
    E(y_event(em, YAML_MAPPING_START_EVENT));
    E(y_kv(em, "cluster", c->name, true));
    E(y_kv(em, "user", user, true));
    E(y_event(em, YAML_MAPPING_END_EVENT));
    E(y_event(em, YAML_MAPPING_END_EVENT));
    E(y_event(em, YAML_SEQUENCE_END_EVENT));
    E(y_kv(em, "current-context", c->name, true));
    E(y_event(em, YAML_MAPPING_END_EVENT));
    E(!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(em, &ev));
    E(!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev));
#undef E
    return rc;
}

static int write_kubeconfig(struct ctx *c, vk_pki *p)
{
    vk_buf crt = {0}, key = {0}, out = {0};
    vk_buf ca = {.data = p->ca_pem, .len = strlen(p->ca_pem)};
    char *ca64 = NULL, *crt64 = NULL, *key64 = NULL, *user = NULL;
    yaml_emitter_t em;
    bool em_ok = false;
    int rc = read_file(p->path[VK_PKI_ADMIN_CRT], &crt);
    if (!rc)
        rc = read_file(p->path[VK_PKI_ADMIN_KEY], &key);
    if (rc) {
        rc = fail(c, rc, "pki: read admin credentials: %s", vk_strerror(rc));
        goto out;
    }
    ca64 = base64(&ca);
    crt64 = base64(&crt);
    key64 = base64(&key);
    if (!ca64 || !crt64 || !key64 || asprintf(&user, "%s-admin", c->name) < 0) {
        user = NULL;
        rc = fail(c, -ENOMEM, "pki: kubeconfig: out of memory");
        goto out;
    }
    if (!yaml_emitter_initialize(&em)) {
        rc = fail(c, -ENOMEM, "pki: kubeconfig: out of memory");
        goto out;
    }
    em_ok = true;
    yaml_emitter_set_output(&em, yaml_to_buf, &out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1); /* never fold the long base64 lines */
    if (emit_kubeconfig(&em, c, user, ca64, crt64, key64) || !yaml_emitter_flush(&em)) {
        rc = fail(c, -EIO, "pki: kubeconfig: YAML emitter: %s",
                  em.problem ? em.problem : "out of memory");
        goto out;
    }
    rc = save(c, p->path[VK_PKI_KUBECONFIG], &out, MODE_KEY, false);
out:
    if (em_ok)
        yaml_emitter_delete(&em);
    OPENSSL_cleanse(key.data, key.len);
    if (key64)
        OPENSSL_cleanse(key64, strlen(key64));
    if (out.data)
        OPENSSL_cleanse(out.data, out.len);
    vk_buf_free(&crt);
    vk_buf_free(&key);
    vk_buf_free(&out);
    free(ca64);
    free(crt64);
    free(key64);
    free(user);
    return rc;
}

/* ---- options ------------------------------------------------------------------------ */

/* A DNS name: dot-separated labels of [A-Za-z0-9-], 1-63 each, not starting or ending with
 * '-', 253 characters at most, no trailing dot. */
static bool valid_dns_name(const char *s)
{
    size_t n = strlen(s), label = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char ch = s[i];
        if (ch == '.' || ch == 0) {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '-') {
            if (label == 0 && ch == '-')
                return false;
            label++;
        } else {
            return false;
        }
    }
    return true;
}

static bool valid_cluster_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.' || s[i] == '_'))
            return false;
    return true;
}

static bool valid_url(const char *s)
{
    size_t n = strlen(s);
    if (n <= 8 || n > 2048 || strncmp(s, "https://", 8) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

static bool is_ip(const char *s)
{
    unsigned char a[16];
    return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Whether two IP literals name the same address ("::1" and "0::1" do). */
static bool same_ip(const char *a, const char *b)
{
    unsigned char x[16] = {0}, y[16] = {0};
    int af = strchr(a, ':') ? AF_INET6 : AF_INET;
    return (strchr(b, ':') ? AF_INET6 : AF_INET) == af && inet_pton(af, a, x) == 1 &&
           inet_pton(af, b, y) == 1 && memcmp(x, y, sizeof x) == 0;
}

static int setup(struct ctx *c, const vk_pki_opts *o)
{
    if (!o || !o->dir || !*o->dir)
        return fail(c, VK_EINVALID, "pki: no data dir given");
    c->dir = o->dir;
    c->name = o->cluster_name && *o->cluster_name ? o->cluster_name : DEFAULT_NAME;
    c->domain = o->cluster_domain && *o->cluster_domain ? o->cluster_domain : DEFAULT_DOMAIN;
    c->advertise = o->advertise_address && *o->advertise_address ? o->advertise_address : NULL;
    c->url = o->server_url && *o->server_url ? o->server_url : DEFAULT_URL;
    const char *cidr = o->service_cidr && *o->service_cidr ? o->service_cidr : DEFAULT_CIDR;
    if (!valid_cluster_name(c->name))
        return fail(c, VK_EINVALID, "pki: invalid cluster name (want 1-253 of [A-Za-z0-9._-])");
    if (!valid_dns_name(c->domain))
        return fail(c, VK_EINVALID, "pki: invalid cluster domain \"%.253s\"", c->domain);
    if (c->advertise && !is_ip(c->advertise) && !valid_dns_name(c->advertise))
        return fail(c, VK_EINVALID,
                    "pki: advertise address \"%.253s\" is neither an IP nor a DNS name",
                    c->advertise);
    if (!valid_url(c->url))
        return fail(c, VK_EINVALID, "pki: invalid server URL \"%.200s\" (want https://...)",
                    c->url);
    if (vk_cidr_first_ip(cidr, c->service_ip, sizeof c->service_ip))
        return fail(c, VK_EINVALID, "pki: invalid service CIDR \"%.100s\"", cidr);
    snprintf(c->svc_fqdn, sizeof c->svc_fqdn, "kubernetes.default.svc.%s", c->domain);
    static const char *const fixed_dns[] = {"localhost", "kubernetes", "kubernetes.default",
                                            "kubernetes.default.svc"};
    for (size_t i = 0; i < sizeof fixed_dns / sizeof *fixed_dns; i++)
        c->dns[c->ndns++] = fixed_dns[i];
    c->dns[c->ndns++] = c->svc_fqdn;
    c->ips[c->nips++] = "127.0.0.1";
    c->ips[c->nips++] = "::1";
    if (!same_ip(c->service_ip, "127.0.0.1") && !same_ip(c->service_ip, "::1"))
        c->ips[c->nips++] = c->service_ip;
    if (c->advertise) {
        bool dup = false;
        if (is_ip(c->advertise)) {
            for (int i = 0; i < c->nips; i++)
                dup |= same_ip(c->ips[i], c->advertise);
            if (!dup)
                c->ips[c->nips++] = c->advertise;
        } else {
            for (int i = 0; i < c->ndns; i++)
                dup |= strcasecmp(c->dns[i], c->advertise) == 0;
            if (!dup)
                c->dns[c->ndns++] = c->advertise;
        }
    }
    return 0;
}

/* ---- public API --------------------------------------------------------------------- */

int vk_pki_load(const vk_pki_opts *o, vk_pki **out, char *err, size_t errlen)
{
    struct ctx c = {.err = err, .errlen = errlen};
    char *pki_dir = NULL;
    if (err && errlen)
        err[0] = 0;
    if (!out)
        return fail(&c, VK_EINVALID, "pki: no output pointer");
    *out = NULL;
    ERR_clear_error();
    int rc = setup(&c, o);
    if (rc)
        return rc;

    vk_pki *p = calloc(1, sizeof *p);
    if (!p)
        return fail(&c, -ENOMEM, "pki: out of memory");
    for (int f = 0; f < VK_PKI_FILE_COUNT; f++) {
        if (asprintf(&p->path[f], "%s/%s", c.dir, file_name[f]) < 0) {
            p->path[f] = NULL;
            rc = fail(&c, -ENOMEM, "pki: out of memory");
            goto fail;
        }
    }
    if (asprintf(&pki_dir, "%s/pki", c.dir) < 0) {
        rc = fail(&c, -ENOMEM, "pki: out of memory");
        goto fail;
    }
    rc = ensure_dir(c.dir, false);
    if (rc) {
        fail(&c, rc, "pki: data dir %s: %s", c.dir, vk_strerror(rc));
    } else if ((rc = ensure_dir(pki_dir, true))) {
        fail(&c, rc, "pki: dir %s: %s", pki_dir, vk_strerror(rc));
    }
    if (!rc)
        rc = load_ca(&c, p);
    if (!rc)
        rc = ensure_leaf(&c, &leaf_serving, p);
    if (!rc)
        rc = ensure_leaf(&c, &leaf_admin, p);
    if (!rc)
        rc = ensure_sa_key(&c, p);
    if (!rc) {
        vk_buf pem = {0};
        rc = to_pem(PEM_CERT, p->ca, &pem);
        if (rc)
            fail(&c, rc, "pki: encode CA certificate");
        else
            p->ca_pem = vk_buf_steal(&pem);
        vk_buf_free(&pem);
    }
    if (!rc)
        rc = write_kubeconfig(&c, p);
    if (!rc && c.pki_dir_dirty && (rc = fsync_dir(pki_dir)))
        fail(&c, rc, "pki: fsync %s: %s", pki_dir, vk_strerror(rc));
    if (!rc && c.data_dir_dirty && (rc = fsync_dir(c.dir)))
        fail(&c, rc, "pki: fsync %s: %s", c.dir, vk_strerror(rc));
    if (rc)
        goto fail;
    free(pki_dir);
    ERR_clear_error();
    *out = p;
    return 0;
fail:
    free(pki_dir);
    vk_pki_free(p);
    if (err && errlen && !err[0]) /* every failure path sets a message; this is a backstop */
        snprintf(err, errlen, "pki: %s", vk_strerror(rc));
    ERR_clear_error();
    return rc;
}

void vk_pki_free(vk_pki *p)
{
    if (!p)
        return;
    for (int f = 0; f < VK_PKI_FILE_COUNT; f++)
        free(p->path[f]);
    X509_free(p->ca);
    EVP_PKEY_free(p->ca_key);
    EVP_PKEY_free(p->sa_key);
    free(p->ca_pem);
    free(p);
}

const char *vk_pki_path(const vk_pki *p, enum vk_pki_file f)
{
    return (unsigned)f < VK_PKI_FILE_COUNT ? p->path[f] : NULL;
}

X509 *vk_pki_ca_cert(const vk_pki *p)
{
    return p->ca;
}

EVP_PKEY *vk_pki_sa_key(const vk_pki *p)
{
    return p->sa_key;
}

const char *vk_pki_ca_pem(const vk_pki *p)
{
    return p->ca_pem;
}

/* Parses a canonical decimal prefix length: digits only, no leading zero, <= max. */
static int parse_prefix(const char *s, int max)
{
    if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 3)
        return -1;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v <= max ? v : -1;
}

int vk_cidr_first_ip(const char *cidr, char *out, size_t outlen)
{
    if (!cidr || !out)
        return VK_EINVALID;
    const char *slash = strchr(cidr, '/');
    char addr[INET6_ADDRSTRLEN];
    if (!slash || (size_t)(slash - cidr) >= sizeof addr || slash == cidr)
        return VK_EINVALID;
    memcpy(addr, cidr, (size_t)(slash - cidr));
    addr[slash - cidr] = 0;
    unsigned char ip[16];
    int af, bits;
    if (inet_pton(AF_INET, addr, ip) == 1) {
        af = AF_INET;
        bits = 32;
    } else if (inet_pton(AF_INET6, addr, ip) == 1) {
        af = AF_INET6;
        bits = 128;
    } else {
        return VK_EINVALID;
    }
    int prefix = parse_prefix(slash + 1, bits);
    if (prefix < 0 || prefix == bits) /* a single address has no "first usable" one */
        return VK_EINVALID;
    int bytes = bits / 8;
    for (int i = 0; i < bytes; i++) {
        int keep = prefix - i * 8; /* network bits in this byte */
        if (keep <= 0)
            ip[i] = 0;
        else if (keep < 8)
            ip[i] &= (unsigned char)(0xff << (8 - keep));
    }
    /* prefix < bits, so the last host bit is free and the network address ends in 0. */
    ip[bytes - 1] |= 1;
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(af, ip, text, sizeof text) || strlen(text) >= outlen)
        return VK_EINVALID;
    memcpy(out, text, strlen(text) + 1);
    return 0;
}
