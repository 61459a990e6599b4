/*
 * Image transfer (class 18, version 0; Blue Book 4.4.6): see ami/cosem_image.h for the
 * attributes, methods, bounds and refusals. The state is the object's ami_image_transfer.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/cosem_image.h"
#include "cosem/cosem_internal.h"

/* logical_name, image_block_size, image_transferred_blocks_status,
 * image_first_not_transferred_block_number, image_transfer_enabled (rw), image_transfer_status,
 * image_to_activate_info. */
static const uint8_t image_access[7] = {AMI_ACCESS_READ, AMI_ACCESS_READ,       AMI_ACCESS_READ,
                                        AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ,
                                        AMI_ACCESS_READ};

const char *ami_image_status_name(uint8_t status)
{
    static const char *const names[] = {
        "not-initiated",           "transfer-initiated",  "verification-initiated",
        "verification-successful", "verification-failed", "activation-initiated",
        "activation-successful",   "activation-failed",
    };
    return status < sizeof names / sizeof names[0] ? names[status] : "unknown";
}

const char *ami_image_reason_text(uint8_t reason)
{
    switch (reason) {
    case AMI_IMAGE_R_NONE:
        return "none";
    case AMI_IMAGE_R_DISABLED:
        return "image transfer is disabled (image_transfer_enabled false)";
    case AMI_IMAGE_R_PARAMS:
        return "method parameters of the wrong type";
    case AMI_IMAGE_R_TOO_LARGE:
        return "image size zero or above the meter's capacity";
    case AMI_IMAGE_R_IDENT:
        return "image identifier empty or too long";
    case AMI_IMAGE_R_NOT_INITIATED:
        return "no image transfer initiated";
    case AMI_IMAGE_R_BLOCK_NUMBER:
        return "block number beyond the image";
    case AMI_IMAGE_R_BLOCK_SIZE:
        return "block of the wrong length";
    case AMI_IMAGE_R_INCOMPLETE:
        return "blocks missing";
    case AMI_IMAGE_R_HEADER:
        return "not an openami firmware image (bad header)";
    case AMI_IMAGE_R_LENGTH:
        return "image length differs from the length its header declares";
    case AMI_IMAGE_R_WRONG_ID:
        return "firmware identifier is not this meter's";
    case AMI_IMAGE_R_NO_KEY:
        return "no firmware verification key configured";
    case AMI_IMAGE_R_KEY_MISMATCH:
        return "image signature algorithm does not match the key's curve";
    case AMI_IMAGE_R_SIGNATURE:
        return "signature does not verify under the configured key";
    case AMI_IMAGE_R_NOT_NEWER:
        return "version not newer than the running firmware";
    case AMI_IMAGE_R_NOT_VERIFIED:
        return "image not verified";
    case AMI_IMAGE_R_ACTIVATION:
        return "the meter refused the activation";
    default:
        return "unknown";
    }
}

int ami_image_init(ami_image_transfer *t, const ami_image_config *cfg)
{
    if (!t || !cfg)
        return AMI_E_INVAL;
    /* Without a key every image is refused at initiate: no storage is needed then. */
    if ((cfg->key && (!cfg->buf || !cfg->cap)) || (cfg->cap && !cfg->buf) || cfg->block_size == 0 ||
        cfg->block_size > 0xFFFF || cfg->id_len > AMI_FWIMG_ID_MAX || (cfg->id_len && !cfg->id))
        return AMI_E_CONFIG;
    memset(t, 0, sizeof *t);
    if (cfg->key) {
        int rc = ami_fwimg_key_check(cfg->key, cfg->key_len, &t->key_alg);
        if (rc != AMI_OK)
            return rc == AMI_E_INVAL ? AMI_E_KEY : rc;
        memcpy(t->key, cfg->key, cfg->key_len);
    }
    t->cfg = *cfg;
    t->cfg.key = cfg->key ? t->key : NULL;
    if (cfg->id_len)
        memcpy(t->id, cfg->id, cfg->id_len);
    t->cfg.id = t->id;
    t->enabled = !cfg->disabled;
    return AMI_OK;
}

uint8_t ami_image_status(const ami_image_transfer *t)
{
    return t ? t->status : AMI_IMAGE_NOT_INITIATED;
}

uint8_t ami_image_reason(const ami_image_transfer *t)
{
    return t ? t->reason : AMI_IMAGE_R_NONE;
}

ami_fwimg_version ami_image_running(const ami_image_transfer *t)
{
    ami_fwimg_version none = {0, 0, 0};
    return t ? t->cfg.running : none;
}

/* ---------------------------------------------------------------- state machine */

static bool block_done(const ami_image_transfer *t, uint32_t n)
{
    return (t->bitmap[n / 8] >> (7 - n % 8)) & 1u;
}

static uint32_t first_missing(const ami_image_transfer *t)
{
    if (t->have == t->nblocks)
        return t->nblocks;
    for (uint32_t n = 0; n < t->nblocks; n++)
        if (!block_done(t, n))
            return n;
    return t->nblocks; /* not reached: have < nblocks means a bit is clear */
}

/* Records a refusal; returns the action-result for it. */
static uint8_t refuse(ami_image_transfer *t, uint8_t reason)
{
    t->reason = reason;
    switch (reason) {
    case AMI_IMAGE_R_DISABLED:
        return AMI_DAR_READ_WRITE_DENIED;
    case AMI_IMAGE_R_PARAMS:
        return AMI_DAR_TYPE_UNMATCHED;
    default:
        return AMI_ACTION_OTHER_REASON;
    }
}

/* The checks of image_verify (see ami/cosem_image.h), in order; AMI_IMAGE_R_NONE when good. */
static uint8_t check_image(ami_image_transfer *t)
{
    if (t->have != t->nblocks)
        return AMI_IMAGE_R_INCOMPLETE;
    ami_fwimg_header h;
    if (ami_fwimg_header_decode(t->cfg.buf, t->size, &h) != AMI_OK)
        return AMI_IMAGE_R_HEADER;
    if (ami_fwimg_total_len(&h) != t->size)
        return AMI_IMAGE_R_LENGTH;
    if (t->cfg.id_len && (h.id_len != t->cfg.id_len || memcmp(h.id, t->id, h.id_len) != 0))
        return AMI_IMAGE_R_WRONG_ID;
    if (!t->cfg.key)
        return AMI_IMAGE_R_NO_KEY;
    if (h.alg != t->key_alg)
        return AMI_IMAGE_R_KEY_MISMATCH;
    int rc = ami_fwimg_verify(t->cfg.buf, t->size, t->key, t->cfg.key_len, &h);
    if (rc != AMI_OK)
        return rc == AMI_E_KEY ? AMI_IMAGE_R_KEY_MISMATCH : AMI_IMAGE_R_SIGNATURE;
    if (ami_fwimg_version_cmp(&h.version, &t->cfg.running) <= 0)
        return AMI_IMAGE_R_NOT_NEWER;
    t->hdr = h;
    return AMI_IMAGE_R_NONE;
}

/* Runs the verification now; returns the action-result. */
static uint8_t verify_now(ami_image_transfer *t)
{
    uint8_t why = check_image(t);
    if (why != AMI_IMAGE_R_NONE) {
        t->status = AMI_IMAGE_VERIFY_FAILED;
        return refuse(t, why);
    }
    t->status = AMI_IMAGE_VERIFY_OK;
    return AMI_ACTION_SUCCESS;
}

void ami_image_step(ami_image_transfer *t)
{
    if (t && t->status == AMI_IMAGE_VERIFY_INITIATED)
        (void)verify_now(t);
}

/* image_transfer_initiate: structure {image_identifier octet-string, image_size
 * double-long-unsigned}. */
static uint8_t initiate(ami_image_transfer *t, ami_rd *r)
{
    uint8_t tag = 0;
    size_t n = 0, idl = 0;
    const uint8_t *id;
    uint32_t size;
    if (ami_rd_u8(r, &tag) || tag != AMI_AXDR_STRUCTURE || ami_axdr_get_length(r, &n) || n != 2 ||
        ami_rd_u8(r, &tag) || tag != AMI_AXDR_OCTET_STRING || ami_axdr_get_length(r, &idl) ||
        ami_rd_view(r, idl, &id) || ami_rd_u8(r, &tag) || tag != AMI_AXDR_DOUBLE_LONG_UNSIGNED ||
        ami_rd_u32be(r, &size) || ami_rd_left(r))
        return refuse(t, AMI_IMAGE_R_PARAMS);
    if (idl == 0 || idl > AMI_IMAGE_IDENT_MAX)
        return refuse(t, AMI_IMAGE_R_IDENT);
    /* Every image would be refused at verification: say so before the transfer. */
    if (!t->cfg.key)
        return refuse(t, AMI_IMAGE_R_NO_KEY);
    uint64_t blocks = ((uint64_t)size + t->cfg.block_size - 1) / t->cfg.block_size;
    if (size == 0 || size > t->cfg.cap || blocks > AMI_IMAGE_MAX_BLOCKS)
        return refuse(t, AMI_IMAGE_R_TOO_LARGE);
    /* The same image again while its transfer is in progress (a client resuming after a broken
     * connection) keeps the blocks received. Anything else starts afresh: in particular after a
     * verification, whose failure may come from the blocks held. */
    bool same = t->status == AMI_IMAGE_TRANSFER_INITIATED && t->size == size &&
                t->ident_len == idl && memcmp(t->ident, id, idl) == 0;
    if (!same) {
        memset(t->bitmap, 0, sizeof t->bitmap);
        t->have = 0;
        t->size = size;
        t->nblocks = (uint32_t)blocks;
        memcpy(t->ident, id, idl);
        t->ident_len = idl;
    }
    memset(&t->hdr, 0, sizeof t->hdr);
    t->status = AMI_IMAGE_TRANSFER_INITIATED;
    t->reason = AMI_IMAGE_R_NONE;
    return AMI_ACTION_SUCCESS;
}

/* image_block_transfer: structure {image_block_number double-long-unsigned, image_block_value
 * octet-string}. */
static uint8_t block(ami_image_transfer *t, ami_rd *r)
{
    uint8_t tag = 0;
    size_t n = 0, len = 0;
    uint32_t num;
    const uint8_t *val;
    if (ami_rd_u8(r, &tag) || tag != AMI_AXDR_STRUCTURE || ami_axdr_get_length(r, &n) || n != 2 ||
        ami_rd_u8(r, &tag) || tag != AMI_AXDR_DOUBLE_LONG_UNSIGNED || ami_rd_u32be(r, &num) ||
        ami_rd_u8(r, &tag) || tag != AMI_AXDR_OCTET_STRING || ami_axdr_get_length(r, &len) ||
        ami_rd_view(r, len, &val) || ami_rd_left(r))
        return refuse(t, AMI_IMAGE_R_PARAMS);
    if (t->status < AMI_IMAGE_TRANSFER_INITIATED || t->status > AMI_IMAGE_VERIFY_FAILED)
        return refuse(t, AMI_IMAGE_R_NOT_INITIATED);
    if (num >= t->nblocks)
        return refuse(t, AMI_IMAGE_R_BLOCK_NUMBER);
    size_t off = (size_t)num * t->cfg.block_size;
    size_t want = num + 1 == t->nblocks ? t->size - off : t->cfg.block_size;
    if (len != want)
        return refuse(t, AMI_IMAGE_R_BLOCK_SIZE);
    memcpy(t->cfg.buf + off, val, len);
    if (!block_done(t, num)) {
        t->bitmap[num / 8] |= (uint8_t)(0x80u >> (num % 8));
        t->have++;
    }
    /* The image changed: a verification done before no longer holds. */
    t->status = AMI_IMAGE_TRANSFER_INITIATED;
    memset(&t->hdr, 0, sizeof t->hdr);
    return AMI_ACTION_SUCCESS;
}

/* image_verify / image_activate take integer 0 (Blue Book 4.4.6); any integer is accepted. */
static bool int_param(ami_rd *r)
{
    uint8_t tag = 0, v;
    return ami_rd_u8(r, &tag) == AMI_OK && tag == AMI_AXDR_INTEGER && ami_rd_u8(r, &v) == AMI_OK &&
           !ami_rd_left(r);
}

static uint8_t verify(ami_image_transfer *t, ami_rd *r)
{
    if (!int_param(r))
        return refuse(t, AMI_IMAGE_R_PARAMS);
    switch (t->status) {
    case AMI_IMAGE_VERIFY_OK:
        return AMI_ACTION_SUCCESS;
    case AMI_IMAGE_VERIFY_INITIATED:
        return AMI_DAR_TEMPORARY_FAILURE;
    case AMI_IMAGE_TRANSFER_INITIATED:
    case AMI_IMAGE_VERIFY_FAILED:
        break;
    default:
        return refuse(t, AMI_IMAGE_R_NOT_INITIATED);
    }
    if (t->cfg.deferred_verify) {
        t->status = AMI_IMAGE_VERIFY_INITIATED;
        return AMI_DAR_TEMPORARY_FAILURE;
    }
    return verify_now(t);
}

static uint8_t activate(ami_image_transfer *t, ami_rd *r)
{
    if (!int_param(r))
        return refuse(t, AMI_IMAGE_R_PARAMS);
    switch (t->status) {
    case AMI_IMAGE_ACTIVATE_OK:
        return AMI_ACTION_SUCCESS; /* a client retrying after a lost response */
    case AMI_IMAGE_TRANSFER_INITIATED:
    case AMI_IMAGE_VERIFY_INITIATED: {
        /* Blue Book 4.4.6: activating an image not yet verified verifies it first. */
        uint8_t res = verify_now(t);
        if (res != AMI_ACTION_SUCCESS)
            return res;
        break;
    }
    case AMI_IMAGE_VERIFY_OK:
        break;
    case AMI_IMAGE_VERIFY_FAILED:
    case AMI_IMAGE_ACTIVATE_FAILED:
        return refuse(t, AMI_IMAGE_R_NOT_VERIFIED);
    default:
        return refuse(t, AMI_IMAGE_R_NOT_INITIATED);
    }
    t->status = AMI_IMAGE_ACTIVATE_INITIATED;
    ami_view payload = ami_view_of(t->cfg.buf + AMI_FWIMG_HEADER_LEN, t->hdr.payload_len);
    if (t->cfg.activate && t->cfg.activate(t->cfg.user, &t->hdr, payload) != AMI_OK) {
        t->status = AMI_IMAGE_ACTIVATE_FAILED;
        return refuse(t, AMI_IMAGE_R_ACTIVATION);
    }
    t->cfg.running = t->hdr.version;
    t->status = AMI_IMAGE_ACTIVATE_OK;
    return AMI_ACTION_SUCCESS;
}

/* ---------------------------------------------------------------- class */

static int image_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_image_transfer *t = o->state;
    return t && t->cfg.block_size ? AMI_OK : AMI_E_CONFIG;
}

static uint8_t image_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                         const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    ami_image_transfer *t = o->state;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    ami_image_step(t);
    switch (attr) {
    case 2:
        ami__cosem_put_u32(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED, t->cfg.block_size);
        return AMI_DAR_SUCCESS;
    case 3: {
        uint32_t bits = t->status == AMI_IMAGE_NOT_INITIATED ? 0 : t->nblocks;
        ami_wr_u8(out, AMI_AXDR_BIT_STRING);
        ami_axdr_put_length(out, bits);
        ami_wr_bytes(out, t->bitmap, (bits + 7) / 8);
        return AMI_DAR_SUCCESS;
    }
    case 4:
        ami__cosem_put_u32(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED,
                           t->status == AMI_IMAGE_NOT_INITIATED ? 0 : first_missing(t));
        return AMI_DAR_SUCCESS;
    case 5:
        ami__cosem_put_u8(out, AMI_AXDR_BOOLEAN, t->enabled);
        return AMI_DAR_SUCCESS;
    case 6:
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, t->status);
        return AMI_DAR_SUCCESS;
    case 7: {
        /* The image to activate, once verified (or activated): its size, the identifier the
         * transfer was initiated with and its signature. */
        bool known = t->status == AMI_IMAGE_VERIFY_OK || t->status == AMI_IMAGE_ACTIVATE_OK;
        ami__cosem_put_array(out, known ? 1 : 0);
        if (known) {
            size_t sl = ami_fwimg_sig_len(t->hdr.alg);
            ami__cosem_put_struct(out, 3);
            ami__cosem_put_u32(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED, t->size);
            ami__cosem_put_octets(out, t->ident, t->ident_len);
            ami__cosem_put_octets(out, t->cfg.buf + t->size - sl, sl);
        }
        return AMI_DAR_SUCCESS;
    }
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}

static uint8_t image_set(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                         const ami_dlms_ctx *ctx)
{
    (void)s;
    (void)ctx;
    ami_image_transfer *t = o->state;
    if (attr != 5)
        return AMI_DAR_READ_WRITE_DENIED;
    if (data.len != 2 || data.p[0] != AMI_AXDR_BOOLEAN)
        return AMI_DAR_TYPE_UNMATCHED;
    t->enabled = data.p[1] != 0;
    return AMI_DAR_SUCCESS;
}

static uint8_t image_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                            const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    (void)out;
    ami_image_transfer *t = o->state;
    ami_image_step(t);
    if (id < 1 || id > 4)
        return AMI_DAR_OBJECT_UNDEFINED;
    if (!t->enabled)
        return refuse(t, AMI_IMAGE_R_DISABLED);
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    switch (id) {
    case 1:
        return initiate(t, &r);
    case 2:
        return block(t, &r);
    case 3:
        return verify(t, &r);
    default:
        return activate(t, &r);
    }
}

const ami__cosem_class ami__cosem_class_image_transfer = {
    .id = AMI_COSEM_IMAGE_TRANSFER,
    .version = 0,
    .attrs = 7,
    .methods = 4,
    .access = image_access,
    .check = image_check,
    .get = image_get,
    .set = image_set,
    .action = image_action,
};
