/*
 * ami fw: build and inspect openami signed firmware images (ami/fwimage.h, docs/firmware.md).
 * The transfer to a meter is `ami dlms fw`.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "cli.h"
#include "fw_keys.h"

/* Largest payload `ami fw sign` takes (the format allows 4 GiB; meters take far less). */
#define FW_MAX_PAYLOAD (64u << 20)

static void help_sign(FILE *out)
{
    fprintf(out,
            "Usage: ami fw sign --key PRIVATE.pem --version V --id ID IN OUT\n\n"
            "Wraps the payload IN into a signed openami firmware image OUT: header (magic,\n"
            "format, identifier, version, payload length), payload, ECDSA signature over both.\n"
            "The key's curve picks the algorithm: P-256 signs with SHA-256, P-384 with SHA-384.\n\n"
            "  --key PRIVATE.pem   EC private key (PEM; never printed)\n"
            "  --version V         firmware version MAJOR[.MINOR[.PATCH]], each 0..65535\n"
            "  --id ID             firmware identifier, 1..32 printable characters (the meter\n"
            "                      type the image is for)\n"
            "  -h, --help          this help\n\n"
            "IN may be \"-\" (stdin); payload at most 64 MiB.\n"
            "Exit status: 0 written; 1 a key or file error; 2 usage.\n");
}

static void help_info(FILE *out)
{
    fprintf(out, "Usage: ami fw info IMAGE [--key PUBLIC.pem] [--json]\n\n"
                 "Shows the header of a signed firmware image (identifier, version, payload\n"
                 "length, algorithm) and checks its length; with --key, also its signature.\n\n"
                 "  --key PUBLIC.pem    EC public key (PEM; a private key file also works)\n"
                 "  --json              JSON output\n"
                 "  -h, --help          this help\n\n"
                 "Exit status: 0 well-formed (and, with --key, the signature verifies); 1 a\n"
                 "malformed image or a signature that does not verify; 2 usage.\n");
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* ---------------------------------------------------------------- sign */

static int cmd_sign(struct ami_cli *cli, int argc, char **argv)
{
    (void)cli;
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"version", required_argument, NULL, 'V'},
        {"id", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keyfile = NULL, *ver = NULL, *id = NULL, *cmd = "fw sign";
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 'V':
            ver = optarg;
            break;
        case 'i':
            id = optarg;
            break;
        case 'h':
            help_sign(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage(cmd, "bad option (see --help)");
        }
    }
    if (!keyfile || !ver || !id)
        return cli_usage(cmd, "--key, --version and --id are required");
    if (argc - optind != 2)
        return cli_usage(cmd, "give IN and OUT");
    ami_fwimg_header h = {0};
    if (ami_fwimg_version_parse(ver, strlen(ver), &h.version) != AMI_OK)
        return cli_usage(cmd, "--version: MAJOR[.MINOR[.PATCH]], each 0..65535");
    size_t idl = strlen(id);
    if (idl == 0 || idl > AMI_FWIMG_ID_MAX)
        return cli_usage(cmd, "--id: 1 to %u characters", AMI_FWIMG_ID_MAX);
    for (size_t i = 0; i < idl; i++)
        if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7E)
            return cli_usage(cmd, "--id: printable characters without spaces");
    const char *in = argv[optind], *outp = argv[optind + 1];

    char why[512];
    EVP_PKEY *key = fw_load_private(keyfile, &h.alg, why, sizeof why);
    if (!key)
        return cli_fail(cmd, NULL, "key", "%s", why);
    unsigned char *payload = NULL;
    size_t plen = 0;
    int rc = cli_read_file(in, FW_MAX_PAYLOAD, &payload, &plen);
    if (rc != AMI_OK) {
        EVP_PKEY_free(key);
        return cli_fail(cmd, in, NULL, "%s",
                        rc == AMI_E_TOO_LARGE ? "payload above 64 MiB" : strerror(errno));
    }
    h.payload_len = (uint32_t)plen;
    h.id_len = (uint8_t)idl;
    memcpy(h.id, id, idl);
    size_t sl = ami_fwimg_sig_len(h.alg), total = AMI_FWIMG_HEADER_LEN + plen + sl;
    uint8_t *img = malloc(total);
    int st = AMI_EXIT_OK;
    if (!img) {
        st = cli_fail(cmd, NULL, NULL, "out of memory");
        goto out;
    }
    ami_fwimg_header_encode(&h, img);
    if (plen)
        memcpy(img + AMI_FWIMG_HEADER_LEN, payload, plen);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[160];
    size_t dl = sizeof der;
    int ok =
        md &&
        EVP_DigestSignInit(md, NULL,
                           h.alg == AMI_FWIMG_ECDSA_P256_SHA256 ? EVP_sha256() : EVP_sha384(), NULL,
                           key) == 1 &&
        EVP_DigestSign(md, der, &dl, img, AMI_FWIMG_HEADER_LEN + plen) == 1 &&
        ami_fwimg_sig_from_der(h.alg, der, dl, img + AMI_FWIMG_HEADER_LEN + plen, sl) == (int)sl;
    EVP_MD_CTX_free(md);
    if (!ok) {
        st = cli_fail(cmd, keyfile, "OpenSSL", "signing failed");
        goto out;
    }
    if (write_file(outp, img, total) != 0) {
        st = cli_fail(cmd, outp, NULL, "%s", strerror(errno));
        goto out;
    }
    char vs[AMI_FWIMG_VERSION_STRLEN];
    ami_fwimg_version_format(&h.version, vs, sizeof vs);
    fprintf(stderr, "ami fw sign: %s: %s %s, %zu payload bytes, %zu bytes, %s\n", outp, id, vs,
            plen, total, ami_fwimg_alg_name(h.alg));
out:
    free(img);
    free(payload);
    EVP_PKEY_free(key);
    return st;
}

/* ---------------------------------------------------------------- info */

static const char *image_error(int rc)
{
    switch (rc) {
    case AMI_E_TRUNCATED:
        return "truncated (shorter than its header declares)";
    case AMI_E_MALFORMED:
        return "malformed (bad magic, reserved bytes, identifier, or trailing bytes)";
    case AMI_E_UNSUPPORTED:
        return "unsupported format version or signature algorithm";
    case AMI_E_AUTH:
        return "signature does not verify under the key";
    case AMI_E_KEY:
        return "the key's curve is not the image's algorithm";
    default:
        return ami_strerror(rc);
    }
}

static int cmd_info(struct ami_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keyfile = NULL, *cmd = "fw info";
    bool json = cli->json;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 'J':
            json = true;
            break;
        case 'h':
            help_info(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage(cmd, "bad option (see --help)");
        }
    }
    if (argc - optind != 1)
        return cli_usage(cmd, "give one IMAGE");
    const char *path = argv[optind];
    uint8_t pub[AMI_FWIMG_KEY_MAX];
    size_t pub_len = 0;
    uint8_t key_alg = 0;
    char why[512];
    if (keyfile && fw_load_public(keyfile, pub, sizeof pub, &pub_len, &key_alg, why, sizeof why))
        return cli_fail(cmd, NULL, "key", "%s", why);
    unsigned char *img = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, (size_t)FW_MAX_PAYLOAD + 4096, &img, &len);
    if (rc != AMI_OK)
        return cli_fail(cmd, path, NULL, "%s",
                        rc == AMI_E_TOO_LARGE ? "larger than any image" : strerror(errno));
    ami_fwimg_header h;
    rc = ami_fwimg_header_decode(img, len, &h);
    if (rc != AMI_OK) {
        free(img);
        return cli_fail(cmd, path, "image", "%s", image_error(rc));
    }
    uint64_t total = ami_fwimg_total_len(&h);
    int check = len < total ? AMI_E_TRUNCATED : len > total ? AMI_E_MALFORMED : AMI_OK;
    if (check == AMI_OK && keyfile)
        check = ami_fwimg_verify(img, len, pub, pub_len, NULL);
    char vs[AMI_FWIMG_VERSION_STRLEN], id[AMI_FWIMG_ID_MAX + 1];
    ami_fwimg_version_format(&h.version, vs, sizeof vs);
    for (size_t i = 0; i < h.id_len; i++)
        id[i] = h.id[i] >= 0x20 && h.id[i] < 0x7F ? (char)h.id[i] : '.';
    id[h.id_len] = 0;
    const char *sig = !keyfile ? "not checked" : check == AMI_OK ? "valid" : "INVALID";
    if (json) {
        ami_jw w;
        ami_jw_init_file(&w, stdout);
        ami_jw_obj_begin(&w);
        ami_jw_key(&w, "id");
        ami_jw_str(&w, id);
        ami_jw_key(&w, "version");
        ami_jw_str(&w, vs);
        ami_jw_key(&w, "format");
        ami_jw_uint(&w, h.format);
        ami_jw_key(&w, "algorithm");
        ami_jw_str(&w, ami_fwimg_alg_name(h.alg));
        ami_jw_key(&w, "payload_bytes");
        ami_jw_uint(&w, h.payload_len);
        ami_jw_key(&w, "image_bytes");
        ami_jw_uint(&w, len);
        ami_jw_key(&w, "length_ok");
        ami_jw_bool(&w, len == total);
        ami_jw_key(&w, "signature");
        ami_jw_str(&w, sig);
        ami_jw_obj_end(&w);
        fputc('\n', stdout);
    } else {
        printf("id         %s\n"
               "version    %s\n"
               "format     %u\n"
               "algorithm  %s\n"
               "payload    %u bytes\n"
               "image      %zu bytes (the header declares %llu)\n"
               "signature  %s\n",
               id, vs, h.format, ami_fwimg_alg_name(h.alg), h.payload_len, len,
               (unsigned long long)total, sig);
    }
    free(img);
    if (check != AMI_OK)
        return cli_fail(cmd, path, "image", "%s", image_error(check));
    return AMI_EXIT_OK;
}

static const struct ami_subcommand subs[] = {
    {"sign", "build a signed firmware image from a payload", cmd_sign},
    {"info", "show (and with --key verify) a signed firmware image", cmd_info},
    {NULL, NULL, NULL},
};

static int run(struct ami_cli *cli, int argc, char **argv)
{
    return cli_dispatch(cli, argc, argv, "ami fw COMMAND [OPTIONS]", subs);
}

const struct ami_command ami_cmd_fw = {"fw", "signed firmware images: sign, info", run};
