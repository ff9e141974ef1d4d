/* Tests for apiserver/auth/pki.c: creation, reuse, re-issue, corruption and the kubeconfig. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <yaml.h>

#include "apiserver/auth/pki.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"

#define URL "https://127.0.0.1:6443"

struct fx {
    char dir[64];
    char path[256];
    char err[512];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/vk_test_pki.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

static vk_pki *load_opts(struct fx *f, const char *adv, const char *domain, const char *cidr)
{
    vk_pki_opts o = {.dir = f->dir,
                     .advertise_address = adv,
                     .cluster_domain = domain,
                     .service_cidr = cidr,
                     .server_url = URL};
    vk_pki *p = NULL;
    int rc = vk_pki_load(&o, &p, f->err, sizeof f->err);
    if (rc)
        print_error("vk_pki_load: %d %s\n", rc, f->err);
    assert_int_equal(rc, 0);
    assert_non_null(p);
    return p;
}

static vk_pki *load(struct fx *f)
{
    return load_opts(f, NULL, NULL, NULL);
}

static int load_rc(struct fx *f)
{
    vk_pki_opts o = {.dir = f->dir, .server_url = URL};
    vk_pki *p = (vk_pki *)&o; /* must be reset to NULL on failure */
    int rc = vk_pki_load(&o, &p, f->err, sizeof f->err);
    if (rc)
        assert_null(p);
    vk_pki_free(p);
    return rc;
}

static const char *fpath(struct fx *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

static X509 *read_cert(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(k);
    return k;
}

static void write_cert(const char *path, X509 *x)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, x), 1);
    fclose(fp);
}

/* SHA-256 fingerprint of the certificate in path, as hex. */
static void fingerprint(const char *path, char hex[65])
{
    X509 *x = read_cert(path);
    unsigned char md[32];
    unsigned n = 0;
    assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
    assert_int_equal(n, 32);
    for (unsigned i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    X509_free(x);
}

static void read_all(const char *path, vk_buf *b)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        assert_int_equal(vk_buf_append(b, chunk, n), 0);
    fclose(fp);
}

static void write_all(const char *path, const char *s)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(s, fp);
    fclose(fp);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Verifies leaf against ca for purpose: X509_V_OK or an X509_V_ERR_* code. */
static int verify(X509 *ca, X509 *leaf, int purpose)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_non_null(store);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
    assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
    int ok = X509_verify_cert(ctx);
    int e = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    assert_true(ok == 1 ? e == X509_V_OK : e != X509_V_OK);
    return e;
}

/* The SANs of x as "DNS:name" / "IP:addr" lines in one string (caller frees). */
static char *sans_of(X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    assert_non_null(gens);
    vk_buf b = {0};
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS) {
            vk_buf_printf(&b, "DNS:%.*s\n", ASN1_STRING_length(g->d.dNSName),
                          (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        } else if (g->type == GEN_IPADD) {
            char t[INET6_ADDRSTRLEN];
            int len = ASN1_STRING_length(g->d.iPAddress);
            assert_true(len == 4 || len == 16);
            assert_non_null(inet_ntop(len == 4 ? AF_INET : AF_INET6,
                                      ASN1_STRING_get0_data(g->d.iPAddress), t, sizeof t));
            vk_buf_printf(&b, "IP:%s\n", t);
        }
    }
    GENERAL_NAMES_free(gens);
    return vk_buf_steal(&b);
}

static void assert_has_san(const char *sans, const char *want)
{
    char line[300];
    snprintf(line, sizeof line, "%s\n", want);
    if (!strstr(sans, line))
        print_error("missing SAN %s in:\n%s", want, sans);
    assert_non_null(strstr(sans, line));
}

static void name_entry(X509_NAME *n, int nid, char *out, size_t outlen)
{
    assert_true(X509_NAME_get_text_by_NID(n, nid, out, (int)outlen) > 0);
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* Days from now until the certificate's notAfter. */
static int days_left(X509 *x)
{
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), 1);
    return days;
}

/* ---- creation and reuse ------------------------------------------------------------- */

static void test_first_start_creates_files(void **state)
{
    struct fx *f = *state;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vk_pki *p = load(f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("PKI created from scratch in %.1f ms (ASan build)\n",
                  (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);

    assert_int_equal(mode_of(fpath(f, "pki")), 0700);
    static const struct {
        enum vk_pki_file f;
        const char *name;
        mode_t mode;
    } files[] = {
        {VK_PKI_CA_CRT, "pki/ca.crt", 0644},
        {VK_PKI_CA_KEY, "pki/ca.key", 0600},
        {VK_PKI_SERVING_CRT, "pki/apiserver.crt", 0644},
        {VK_PKI_SERVING_KEY, "pki/apiserver.key", 0600},
        {VK_PKI_ADMIN_CRT, "pki/admin.crt", 0644},
        {VK_PKI_ADMIN_KEY, "pki/admin.key", 0600},
        {VK_PKI_SA_KEY, "pki/sa.key", 0600},
        {VK_PKI_SA_PUB, "pki/sa.pub", 0644},
        {VK_PKI_KUBECONFIG, "kubeconfig", 0600},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        assert_string_equal(vk_pki_path(p, files[i].f), fpath(f, files[i].name));
        assert_int_equal(mode_of(vk_pki_path(p, files[i].f)), files[i].mode);
    }
    assert_null(vk_pki_path(p, VK_PKI_FILE_COUNT));

    /* No temp file is left behind: exactly the files above. */
    assert_int_equal(count_entries(f->dir), 2);
    assert_int_equal(count_entries(fpath(f, "pki")), 8);

    /* The CA: self-signed, CA:TRUE critical, keyUsage, SKI, CN vkube-ca@<time>, 10 years. */
    X509 *ca = vk_pki_ca_cert(p);
    assert_non_null(ca);
    char cn[128];
    name_entry(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn);
    assert_memory_equal(cn, "vkube-ca@", 9);
    assert_true(atoll(cn + 9) > 1600000000);
    assert_int_equal(X509_check_issued(ca, ca), X509_V_OK);
    assert_int_equal(X509_check_ca(ca), 1);
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_true(bc->ca);
    assert_int_equal(crit, 1);
    BASIC_CONSTRAINTS_free(bc);
    assert_int_equal(X509_get_ext_by_critical(ca, 1, -1) >= 0, 1);
    assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE);
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(ca, NID_key_usage, &crit, NULL);
    assert_non_null(ku);
    assert_int_equal(crit, 1);
    ASN1_BIT_STRING_free(ku);
    assert_non_null(X509_get0_subject_key_id(ca));
    int days = days_left(ca);
    assert_true(days >= 3649 && days <= 3650);
    assert_int_equal(verify(ca, ca, X509_PURPOSE_ANY), X509_V_OK);

    /* Keys are EC P-256; the SA public key matches the SA key. */
    EVP_PKEY *sa = vk_pki_sa_key(p);
    assert_non_null(sa);
    assert_true(EVP_PKEY_is_a(sa, "EC"));
    char group[64];
    assert_int_equal(EVP_PKEY_get_group_name(sa, group, sizeof group, NULL), 1);
    assert_string_equal(group, "prime256v1");
    assert_true(EVP_PKEY_is_a(X509_get0_pubkey(ca), "EC"));
    FILE *fp = fopen(vk_pki_path(p, VK_PKI_SA_PUB), "r");
    assert_non_null(fp);
    EVP_PKEY *pub = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(pub);
    assert_int_equal(EVP_PKEY_eq(pub, sa), 1);
    EVP_PKEY_free(pub);

    /* ca_pem is the CA certificate, same as the file. */
    const char *pem = vk_pki_ca_pem(p);
    assert_non_null(pem);
    assert_memory_equal(pem, "-----BEGIN CERTIFICATE-----\n", 28);
    vk_buf file = {0};
    read_all(vk_pki_path(p, VK_PKI_CA_CRT), &file);
    assert_string_equal(pem, file.data);
    vk_buf_free(&file);

    /* Serial numbers are random, positive and large. */
    const ASN1_INTEGER *s1 = X509_get0_serialNumber(ca);
    X509 *srv = read_cert(vk_pki_path(p, VK_PKI_SERVING_CRT));
    const ASN1_INTEGER *s2 = X509_get0_serialNumber(srv);
    assert_int_not_equal(ASN1_INTEGER_cmp(s1, s2), 0);
    BIGNUM *bn = ASN1_INTEGER_to_BN(s2, NULL);
    assert_false(BN_is_negative(bn));
    assert_true(BN_num_bits(bn) > 96 && BN_num_bits(bn) <= 128);
    BN_free(bn);
    X509_free(srv);
    vk_pki_free(p);
    vk_pki_free(NULL);
}

static void test_second_load_reuses(void **state)
{
    struct fx *f = *state;
    char ca1[65], srv1[65], adm1[65], ca2[65], srv2[65], adm2[65];
    vk_pki *p = load(f);
    fingerprint(fpath(f, "pki/ca.crt"), ca1);
    fingerprint(fpath(f, "pki/apiserver.crt"), srv1);
    fingerprint(fpath(f, "pki/admin.crt"), adm1);
    vk_buf sa1 = {0}, sa2 = {0}, kc = {0};
    read_all(fpath(f, "pki/sa.key"), &sa1);
    vk_pki_free(p);

    unlink(fpath(f, "kubeconfig")); /* rewritten at every start */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    p = load(f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("PKI reloaded in %.1f ms (ASan build)\n",
                  (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    fingerprint(fpath(f, "pki/ca.crt"), ca2);
    fingerprint(fpath(f, "pki/apiserver.crt"), srv2);
    fingerprint(fpath(f, "pki/admin.crt"), adm2);
    read_all(fpath(f, "pki/sa.key"), &sa2);
    assert_string_equal(ca1, ca2);
    assert_string_equal(srv1, srv2);
    assert_string_equal(adm1, adm2);
    assert_int_equal(sa1.len, sa2.len);
    assert_memory_equal(sa1.data, sa2.data, sa1.len);
    read_all(fpath(f, "kubeconfig"), &kc);
    assert_true(kc.len > 0);
    vk_buf_free(&sa1);
    vk_buf_free(&sa2);
    vk_buf_free(&kc);
    vk_pki_free(p);
}

static void test_serving_sans_and_chain(void **state)
{
    struct fx *f = *state;
    vk_pki *p = load_opts(f, "192.168.7.10", "example.internal", "10.100.0.0/16");
    X509 *ca = vk_pki_ca_cert(p);
    X509 *srv = read_cert(vk_pki_path(p, VK_PKI_SERVING_CRT));
    char *sans = sans_of(srv);
    static const char *const want[] = {
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.example.internal",
        "IP:127.0.0.1",
        "IP:::1",
        "IP:10.100.0.1",
        "IP:192.168.7.10",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        assert_has_san(sans, want[i]);
    free(sans);

    assert_int_equal(verify(ca, srv, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_int_equal(verify(ca, srv, X509_PURPOSE_SSL_CLIENT),
                     X509_V_ERR_INVALID_PURPOSE); /* EKU serverAuth only */
    assert_true(X509_get_extended_key_usage(srv) & XKU_SSL_SERVER);
    assert_false(X509_get_extended_key_usage(srv) & XKU_SSL_CLIENT);
    assert_int_equal(X509_check_ca(srv), 0);
    const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(srv);
    assert_non_null(akid);
    assert_int_equal(ASN1_OCTET_STRING_cmp(akid, X509_get0_subject_key_id(ca)), 0);
    int days = days_left(srv);
    assert_true(days >= 364 && days <= 365);
    assert_int_equal(X509_check_host(srv, "kubernetes.default.svc.example.internal", 0, 0, NULL),
                     1);

    /* The serving key matches the serving certificate. */
    EVP_PKEY *k = read_key(vk_pki_path(p, VK_PKI_SERVING_KEY));
    assert_int_equal(X509_check_private_key(srv, k), 1);
    EVP_PKEY_free(k);
    X509_free(srv);
    vk_pki_free(p);
}

static void test_admin_cert(void **state)
{
    struct fx *f = *state;
    vk_pki *p = load(f);
    X509 *adm = read_cert(vk_pki_path(p, VK_PKI_ADMIN_CRT));
    char cn[128], o[128];
    name_entry(X509_get_subject_name(adm), NID_commonName, cn, sizeof cn);
    name_entry(X509_get_subject_name(adm), NID_organizationName, o, sizeof o);
    assert_string_equal(cn, "kubernetes-admin");
    assert_string_equal(o, "system:masters");
    assert_int_equal(verify(vk_pki_ca_cert(p), adm, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    assert_true(X509_get_extended_key_usage(adm) & XKU_SSL_CLIENT);
    assert_false(X509_get_extended_key_usage(adm) & XKU_SSL_SERVER);
    int days = days_left(adm);
    assert_true(days >= 364 && days <= 365);
    EVP_PKEY *k = read_key(vk_pki_path(p, VK_PKI_ADMIN_KEY));
    assert_int_equal(X509_check_private_key(adm, k), 1);
    EVP_PKEY_free(k);
    X509_free(adm);
    vk_pki_free(p);
}

/* ---- re-issue ----------------------------------------------------------------------- */

static void test_advertise_change_reissues_serving(void **state)
{
    struct fx *f = *state;
    char ca1[65], srv1[65], adm1[65], ca2[65], srv2[65], adm2[65];
    vk_pki_free(load_opts(f, "10.0.0.5", NULL, NULL));
    fingerprint(fpath(f, "pki/ca.crt"), ca1);
    fingerprint(fpath(f, "pki/apiserver.crt"), srv1);
    fingerprint(fpath(f, "pki/admin.crt"), adm1);

    /* Same address, written differently: still covered, nothing re-issued. */
    vk_pki_free(load_opts(f, "10.0.0.5", "cluster.local", "10.96.0.0/12"));
    fingerprint(fpath(f, "pki/apiserver.crt"), srv2);
    assert_string_equal(srv1, srv2);

    /* A DNS advertise address: serving re-issued, CA and admin kept. */
    vk_pki *p = load_opts(f, "vkube.example.com", NULL, NULL);
    fingerprint(fpath(f, "pki/ca.crt"), ca2);
    fingerprint(fpath(f, "pki/apiserver.crt"), srv2);
    fingerprint(fpath(f, "pki/admin.crt"), adm2);
    assert_string_equal(ca1, ca2);
    assert_string_equal(adm1, adm2);
    assert_string_not_equal(srv1, srv2);
    X509 *srv = read_cert(vk_pki_path(p, VK_PKI_SERVING_CRT));
    char *sans = sans_of(srv);
    assert_has_san(sans, "DNS:vkube.example.com");
    assert_null(strstr(sans, "10.0.0.5"));
    free(sans);
    assert_int_equal(verify(vk_pki_ca_cert(p), srv, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    X509_free(srv);
    vk_pki_free(p);

    /* A new cluster domain and an IPv6 service range also re-issue it. */
    memcpy(srv1, srv2, sizeof srv1);
    p = load_opts(f, "vkube.example.com", "corp.test", "fd00:10:96::/108");
    fingerprint(fpath(f, "pki/apiserver.crt"), srv2);
    assert_string_not_equal(srv1, srv2);
    srv = read_cert(vk_pki_path(p, VK_PKI_SERVING_CRT));
    sans = sans_of(srv);
    assert_has_san(sans, "DNS:kubernetes.default.svc.corp.test");
    assert_has_san(sans, "IP:fd00:10:96::1");
    assert_has_san(sans, "DNS:vkube.example.com");
    free(sans);
    X509_free(srv);
    fingerprint(fpath(f, "pki/ca.crt"), ca2);
    assert_string_equal(ca1, ca2);
    vk_pki_free(p);
}

static void test_missing_leaves_reissued_from_ca(void **state)
{
    struct fx *f = *state;
    char ca1[65], ca2[65], srv1[65], srv2[65], adm1[65], adm2[65];
    vk_pki_free(load(f));
    fingerprint(fpath(f, "pki/ca.crt"), ca1);
    fingerprint(fpath(f, "pki/apiserver.crt"), srv1);
    fingerprint(fpath(f, "pki/admin.crt"), adm1);
    assert_int_equal(unlink(fpath(f, "pki/apiserver.crt")), 0);
    assert_int_equal(unlink(fpath(f, "pki/admin.key")), 0);
    assert_int_equal(unlink(fpath(f, "pki/sa.pub")), 0);

    vk_pki *p = load(f);
    fingerprint(fpath(f, "pki/ca.crt"), ca2);
    fingerprint(fpath(f, "pki/apiserver.crt"), srv2);
    fingerprint(fpath(f, "pki/admin.crt"), adm2);
    assert_string_equal(ca1, ca2);
    assert_string_not_equal(srv1, srv2);
    assert_string_not_equal(adm1, adm2);
    assert_int_equal(mode_of(fpath(f, "pki/admin.key")), 0600);
    assert_int_equal(access(fpath(f, "pki/sa.pub"), R_OK), 0);
    X509 *srv = read_cert(vk_pki_path(p, VK_PKI_SERVING_CRT));
    X509 *adm = read_cert(vk_pki_path(p, VK_PKI_ADMIN_CRT));
    assert_int_equal(verify(vk_pki_ca_cert(p), srv, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_int_equal(verify(vk_pki_ca_cert(p), adm, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    X509_free(srv);
    X509_free(adm);
    vk_pki_free(p);
}

static void test_advertise_address_not_duplicated(void **state)
{
    struct fx *f = *state;
    static const char *const advs[] = {"0:0::1", "LOCALHOST", "10.96.0.1"};
    for (size_t i = 0; i < sizeof advs / sizeof *advs; i++) {
        vk_pki *p = load_opts(f, advs[i], NULL, NULL);
        X509 *srv = read_cert(vk_pki_path(p, VK_PKI_SERVING_CRT));
        GENERAL_NAMES *gens = X509_get_ext_d2i(srv, NID_subject_alt_name, NULL, NULL);
        assert_non_null(gens);
        assert_int_equal(sk_GENERAL_NAME_num(gens), 8); /* the fixed 5 names and 3 IPs */
        GENERAL_NAMES_free(gens);
        X509_free(srv);
        vk_pki_free(p);
    }
}

static void test_mismatched_leaf_keys_reissued(void **state)
{
    struct fx *f = *state;
    char ca1[65], ca2[65], srv1[65], srv2[65];
    vk_pki_free(load(f));
    fingerprint(fpath(f, "pki/ca.crt"), ca1);
    fingerprint(fpath(f, "pki/apiserver.crt"), srv1);
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/pki/admin.key", f->dir);
    snprintf(b, sizeof b, "%s/pki/apiserver.key", f->dir);
    assert_int_equal(rename(a, b), 0); /* apiserver.key now belongs to no certificate */
    vk_pki *p = load(f);
    fingerprint(fpath(f, "pki/ca.crt"), ca2);
    fingerprint(fpath(f, "pki/apiserver.crt"), srv2);
    assert_string_equal(ca1, ca2);
    assert_string_not_equal(srv1, srv2);
    X509 *srv = read_cert(vk_pki_path(p, VK_PKI_SERVING_CRT));
    X509 *adm = read_cert(vk_pki_path(p, VK_PKI_ADMIN_CRT));
    EVP_PKEY *ks = read_key(vk_pki_path(p, VK_PKI_SERVING_KEY));
    EVP_PKEY *ka = read_key(vk_pki_path(p, VK_PKI_ADMIN_KEY));
    assert_int_equal(X509_check_private_key(srv, ks), 1);
    assert_int_equal(X509_check_private_key(adm, ka), 1);
    EVP_PKEY_free(ks);
    EVP_PKEY_free(ka);
    X509_free(srv);
    X509_free(adm);
    vk_pki_free(p);
}

/* Re-signs the serving certificate with the CA key so that it expires in `days`. */
static void resign_serving(struct fx *f, long days)
{
    char crt[256], cakey[256];
    snprintf(crt, sizeof crt, "%s/pki/apiserver.crt", f->dir);
    snprintf(cakey, sizeof cakey, "%s/pki/ca.key", f->dir);
    X509 *x = read_cert(crt);
    EVP_PKEY *k = read_key(cakey);
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL));
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    write_cert(crt, x);
    EVP_PKEY_free(k);
    X509_free(x);
}

static void test_near_expiry_reissued(void **state)
{
    struct fx *f = *state;
    char a[65], b[65];
    vk_pki_free(load(f));

    resign_serving(f, 100); /* not near expiry: kept */
    fingerprint(fpath(f, "pki/apiserver.crt"), a);
    vk_pki_free(load(f));
    fingerprint(fpath(f, "pki/apiserver.crt"), b);
    assert_string_equal(a, b);

    resign_serving(f, 10); /* within 30 days: re-issued for a year */
    fingerprint(fpath(f, "pki/apiserver.crt"), a);
    vk_pki *p = load(f);
    fingerprint(fpath(f, "pki/apiserver.crt"), b);
    assert_string_not_equal(a, b);
    X509 *srv = read_cert(vk_pki_path(p, VK_PKI_SERVING_CRT));
    assert_true(days_left(srv) >= 364);
    X509_free(srv);
    vk_pki_free(p);
}

static void test_removed_ca_recreated_with_new_leaves(void **state)
{
    struct fx *f = *state;
    char ca1[65], ca2[65];
    vk_pki_free(load(f));
    fingerprint(fpath(f, "pki/ca.crt"), ca1);
    assert_int_equal(unlink(fpath(f, "pki/ca.crt")), 0);
    assert_int_equal(unlink(fpath(f, "pki/ca.key")), 0);
    vk_pki *p = load(f);
    fingerprint(fpath(f, "pki/ca.crt"), ca2);
    assert_string_not_equal(ca1, ca2);
    /* The old leaves were not issued by the new CA, so they were re-issued. */
    X509 *srv = read_cert(vk_pki_path(p, VK_PKI_SERVING_CRT));
    X509 *adm = read_cert(vk_pki_path(p, VK_PKI_ADMIN_CRT));
    assert_int_equal(verify(vk_pki_ca_cert(p), srv, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_int_equal(verify(vk_pki_ca_cert(p), adm, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    X509_free(srv);
    X509_free(adm);
    vk_pki_free(p);
}

/* ---- corruption --------------------------------------------------------------------- */

static void assert_file_is(const char *path, const char *content)
{
    vk_buf b = {0};
    read_all(path, &b);
    assert_string_equal(b.data ? b.data : "", content);
    vk_buf_free(&b);
}

static void test_corrupt_ca_fails_without_overwrite(void **state)
{
    struct fx *f = *state;
    vk_pki_free(load(f));
    static const char junk[] = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n";
    write_all(fpath(f, "pki/ca.crt"), junk);
    assert_int_equal(load_rc(f), VK_EINVALID);
    assert_non_null(strstr(f->err, "ca.crt"));
    assert_non_null(strstr(f->err, "corrupt"));
    assert_file_is(fpath(f, "pki/ca.crt"), junk);
    /* An empty file is corrupt too. */
    write_all(fpath(f, "pki/ca.crt"), "");
    assert_int_equal(load_rc(f), VK_EINVALID);
    assert_file_is(fpath(f, "pki/ca.crt"), "");
}

static void test_corrupt_ca_key_fails(void **state)
{
    struct fx *f = *state;
    vk_pki_free(load(f));
    write_all(fpath(f, "pki/ca.key"), "garbage\n");
    assert_int_equal(load_rc(f), VK_EINVALID);
    assert_non_null(strstr(f->err, "ca.key"));
    assert_file_is(fpath(f, "pki/ca.key"), "garbage\n");
}

static void test_ca_key_mismatch_fails(void **state)
{
    struct fx *f = *state;
    char ca1[65], ca2[65];
    vk_pki_free(load(f));
    fingerprint(fpath(f, "pki/ca.crt"), ca1);
    char from[256];
    snprintf(from, sizeof from, "%s/pki/admin.key", f->dir);
    assert_int_equal(rename(from, fpath(f, "pki/ca.key")), 0);
    assert_int_equal(load_rc(f), VK_EINVALID);
    assert_non_null(strstr(f->err, "does not match"));
    fingerprint(fpath(f, "pki/ca.crt"), ca2);
    assert_string_equal(ca1, ca2);
}

static void test_lone_ca_half_fails(void **state)
{
    struct fx *f = *state;
    vk_pki_free(load(f));
    assert_int_equal(unlink(fpath(f, "pki/ca.crt")), 0);
    assert_int_equal(load_rc(f), VK_EINVALID);
    assert_non_null(strstr(f->err, "missing"));
    assert_int_not_equal(access(fpath(f, "pki/ca.crt"), F_OK), 0);
}

static void test_corrupt_leaf_and_sa_key_fail(void **state)
{
    struct fx *f = *state;
    vk_pki_free(load(f));
    write_all(fpath(f, "pki/apiserver.crt"), "x");
    assert_int_equal(load_rc(f), VK_EINVALID);
    assert_non_null(strstr(f->err, "apiserver.crt"));
    assert_file_is(fpath(f, "pki/apiserver.crt"), "x");
    unlink(fpath(f, "pki/apiserver.crt"));
    vk_pki_free(load(f));

    write_all(fpath(f, "pki/sa.key"), "y");
    assert_int_equal(load_rc(f), VK_EINVALID);
    assert_non_null(strstr(f->err, "sa.key"));
    assert_file_is(fpath(f, "pki/sa.key"), "y");
}

static void test_wide_key_modes_tightened(void **state)
{
    struct fx *f = *state;
    vk_pki_free(load(f));
    assert_int_equal(chmod(fpath(f, "pki/ca.key"), 0644), 0);
    assert_int_equal(chmod(fpath(f, "pki"), 0755), 0);
    vk_pki_free(load(f));
    assert_int_equal(mode_of(fpath(f, "pki/ca.key")), 0600);
    assert_int_equal(mode_of(fpath(f, "pki")), 0700);
}

/* ---- options ------------------------------------------------------------------------ */

static void test_bad_options(void **state)
{
    struct fx *f = *state;
    char err[256];
    vk_pki *p = NULL;
    assert_int_equal(vk_pki_load(NULL, &p, err, sizeof err), VK_EINVALID);
    vk_pki_opts o = {0};
    assert_int_equal(vk_pki_load(&o, &p, err, sizeof err), VK_EINVALID);
    assert_null(p);

    static const vk_pki_opts bad[] = {
        {.advertise_address = "a b"},          {.advertise_address = "host,IP:1.2.3.4"},
        {.advertise_address = "-bad.example"}, {.cluster_domain = "cluster..local"},
        {.cluster_name = "x\ny: z"},           {.service_cidr = "10.96.0.0"},
        {.service_cidr = "10.96.0.1/32"},      {.server_url = "http://127.0.0.1:6443"},
        {.server_url = "https://a b"},         {.server_url = "https://x\"\ny"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vk_pki_opts b = bad[i];
        b.dir = f->dir;
        err[0] = 0;
        assert_int_equal(vk_pki_load(&b, &p, err, sizeof err), VK_EINVALID);
        assert_null(p);
        assert_true(strlen(err) > 0);
    }
    /* Nothing was created by a rejected call. */
    assert_int_not_equal(access(fpath(f, "pki"), F_OK), 0);

    /* A data dir whose parent is missing. */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/no/such", f->dir);
    vk_pki_opts m = {.dir = dir};
    assert_int_equal(vk_pki_load(&m, &p, NULL, 0), -ENOENT);
    assert_null(p);
}

static void test_cidr_first_ip(void **state)
{
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"10.96.0.0/12", "10.96.0.1"},     {"10.100.5.0/24", "10.100.5.1"},
        {"10.100.5.77/24", "10.100.5.1"}, /* host bits masked */
        {"192.168.0.4/31", "192.168.0.5"}, {"10.111.22.33/12", "10.96.0.1"},
        {"0.0.0.0/0", "0.0.0.1"},          {"fd00:10:96::/108", "fd00:10:96::1"},
        {"2001:db8::/64", "2001:db8::1"},  {"2001:db8::ff/120", "2001:db8::1"},
        {"2001:db8::/127", "2001:db8::1"}, {"::/0", "::1"},
    };
    char out[INET6_ADDRSTRLEN];
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        memset(out, 'x', sizeof out);
        assert_int_equal(vk_cidr_first_ip(ok[i].in, out, sizeof out), 0);
        assert_string_equal(out, ok[i].out);
    }
    static const char *const bad[] = {
        "10.96.0.1/32",
        "2001:db8::1/128",
        "10.96.0.0/33",
        "2001:db8::/129",
        "10.96.0.0/",
        "10.96.0.0",
        "/12",
        "10.96.0/12",
        "10.96.0.0/012",
        "10.96.0.0/1a",
        "10.96.0.0/-1",
        "10.96.0.0/ 12",
        "garbage",
        "",
        "10.96.0.0/12/3",
        "::g/64",
        "10.96.0.0/+12",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(vk_cidr_first_ip(bad[i], out, sizeof out), VK_EINVALID);
    assert_int_equal(vk_cidr_first_ip(NULL, out, sizeof out), VK_EINVALID);
    assert_int_equal(vk_cidr_first_ip("10.96.0.0/12", out, 9), VK_EINVALID); /* too small */
    assert_int_equal(vk_cidr_first_ip("10.96.0.0/12", out, 10), 0);
    assert_string_equal(out, "10.96.0.1");
}

/* ---- kubeconfig --------------------------------------------------------------------- */

static yaml_node_t *y_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    assert_non_null(map);
    assert_int_equal(map->type, YAML_MAPPING_NODE);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(d, pr->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(d, pr->value);
    }
    fail_msg("kubeconfig: no key %s", key);
    return NULL;
}

static const char *y_str(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_t *n = y_get(d, map, key);
    assert_int_equal(n->type, YAML_SCALAR_NODE);
    return (const char *)n->data.scalar.value;
}

static yaml_node_t *y_item0(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_t *seq = y_get(d, map, key);
    assert_int_equal(seq->type, YAML_SEQUENCE_NODE);
    assert_int_equal(seq->data.sequence.items.top - seq->data.sequence.items.start, 1);
    return yaml_document_get_node(d, seq->data.sequence.items.start[0]);
}

/* Asserts that b64 decodes to exactly the contents of path. */
static void assert_b64_is_file(const char *b64, const char *path)
{
    vk_buf want = {0};
    read_all(path, &want);
    size_t n = strlen(b64);
    unsigned char *dec = malloc(n);
    assert_non_null(dec);
    int len = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)n);
    assert_true(len >= 0);
    while (len > 0 && n > 0 && b64[n - 1] == '=') { /* DecodeBlock counts padding bytes */
        len--;
        n--;
    }
    assert_int_equal((size_t)len, want.len);
    assert_memory_equal(dec, want.data, want.len);
    free(dec);
    vk_buf_free(&want);
}

static void test_kubeconfig(void **state)
{
    struct fx *f = *state;
    vk_pki_opts o = {.dir = f->dir,
                     .cluster_name = "true", /* would be a bool if written plain */
                     .server_url = "https://10.1.2.3:16443/prefix?x=1#y"};
    vk_pki *p = NULL;
    assert_int_equal(vk_pki_load(&o, &p, f->err, sizeof f->err), 0);
    const char *path = vk_pki_path(p, VK_PKI_KUBECONFIG);

    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    yaml_parser_t parser;
    yaml_document_t doc;
    assert_int_equal(yaml_parser_initialize(&parser), 1);
    yaml_parser_set_input_file(&parser, fp);
    assert_int_equal(yaml_parser_load(&parser, &doc), 1);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    assert_non_null(root);
    assert_string_equal(y_str(&doc, root, "apiVersion"), "v1");
    assert_string_equal(y_str(&doc, root, "kind"), "Config");
    assert_string_equal(y_str(&doc, root, "current-context"), "true");
    yaml_node_t *cl = y_item0(&doc, root, "clusters");
    assert_string_equal(y_str(&doc, cl, "name"), "true");
    yaml_node_t *c = y_get(&doc, cl, "cluster");
    assert_string_equal(y_str(&doc, c, "server"), o.server_url);
    assert_b64_is_file(y_str(&doc, c, "certificate-authority-data"), vk_pki_path(p, VK_PKI_CA_CRT));
    yaml_node_t *us = y_item0(&doc, root, "users");
    assert_string_equal(y_str(&doc, us, "name"), "true-admin");
    yaml_node_t *u = y_get(&doc, us, "user");
    assert_b64_is_file(y_str(&doc, u, "client-certificate-data"), vk_pki_path(p, VK_PKI_ADMIN_CRT));
    assert_b64_is_file(y_str(&doc, u, "client-key-data"), vk_pki_path(p, VK_PKI_ADMIN_KEY));
    yaml_node_t *cx = y_item0(&doc, root, "contexts");
    assert_string_equal(y_str(&doc, cx, "name"), "true");
    yaml_node_t *ctx = y_get(&doc, cx, "context");
    assert_string_equal(y_str(&doc, ctx, "cluster"), "true");
    assert_string_equal(y_str(&doc, ctx, "user"), "true-admin");
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(fp);
    vk_pki_free(p);

    /* The server URL changes at the next start: the kubeconfig follows. */
    o.cluster_name = NULL;
    o.server_url = "https://127.0.0.1:7443";
    assert_int_equal(vk_pki_load(&o, &p, f->err, sizeof f->err), 0);
    path = vk_pki_path(p, VK_PKI_KUBECONFIG);
    assert_int_equal(mode_of(path), 0600);

    if (access("/usr/bin/kubectl", X_OK) != 0) {
        print_message("kubectl not found: skipping the kubectl check\n");
        vk_pki_free(p);
        return;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/kubectl --kubeconfig '%s' config view --raw "
             "-o jsonpath='{.clusters[0].cluster.server} {.current-context} "
             "{.users[0].name}' 2>&1",
             path);
    FILE *pp = popen(cmd, "r");
    assert_non_null(pp);
    char out[512] = {0};
    size_t n = fread(out, 1, sizeof out - 1, pp);
    out[n] = 0;
    int status = pclose(pp);
    if (status != 0)
        print_error("kubectl: %s\n", out);
    assert_int_equal(status, 0);
    assert_string_equal(out, "https://127.0.0.1:7443 vkube vkube-admin");
    vk_pki_free(p);
}

int main(void)
{
    vk_log_verbosity = VK_LOG_ERROR; /* keep "Created ..." lines out of the test output */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_start_creates_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_load_reuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serving_sans_and_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_cert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advertise_change_reissues_serving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_leaves_reissued_from_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advertise_address_not_duplicated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_leaf_keys_reissued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_near_expiry_reissued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_ca_recreated_with_new_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_ca_fails_without_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_ca_key_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_key_mismatch_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lone_ca_half_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_leaf_and_sa_key_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wide_key_modes_tightened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
        cmocka_unit_test(test_cidr_first_ip),
        cmocka_unit_test_setup_teardown(test_kubeconfig, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    OPENSSL_cleanup();
    return failed;
}
