/*
 * Image transfer (interface class 18, version 0; DLMS UA Blue Book 4.4.6) for the COSEM object
 * store (ami/cosem.h), carrying openami signed firmware images (ami/fwimage.h).
 *
 * Attributes: 1 logical_name, 2 image_block_size (double-long-unsigned), 3
 * image_transferred_blocks_status (bit-string, bit n = block n, first bit = block 0), 4
 * image_first_not_transferred_block_number (double-long-unsigned), 5 image_transfer_enabled
 * (boolean, read-write), 6 image_transfer_status (enum ami_image_status), 7
 * image_to_activate_info (array of {size double-long-unsigned, identification octet-string,
 * signature octet-string}).
 * Methods: 1 image_transfer_initiate(structure {image_identifier octet-string, image_size
 * double-long-unsigned}), 2 image_block_transfer(structure {image_block_number
 * double-long-unsigned, image_block_value octet-string}), 3 image_verify(integer 0), 4
 * image_activate(integer 0).
 *
 * Bounds: the image lives in a caller-owned buffer; image_size above its capacity (or above
 * AMI_IMAGE_MAX_BLOCKS blocks) is refused at initiate, so nothing is sized by the peer. Blocks
 * are numbered from 0, each exactly image_block_size bytes except the last (the remainder);
 * they may arrive in any order and more than once (a repeated block overwrites). Initiating
 * again with the same identifier and size while the transfer is in progress (status 1) resumes
 * (blocks kept); anything else restarts, also after a verification.
 *
 * Without a verification key every image_transfer_initiate is refused (reason
 * AMI_IMAGE_R_NO_KEY) and no image storage is needed.
 *
 * Verification (image_verify, or image_activate on an unverified image): every block present,
 * the image header valid, the length exact, the firmware identifier the configured one (when
 * configured), the ECDSA signature valid under the key, the version
 * strictly newer than the running one. Each refusal sets image_transfer_status to (4)
 * verification-failed, answers action-result other-reason, and records the reason
 * (ami_image_reason(), ami_image_reason_text()). With `deferred_verify` the method answers
 * temporary-failure with status (2) verification-initiated, and the check completes at the next
 * access to the object or ami_image_step() (a meter finishing in the background; the client
 * polls image_transfer_status, Blue Book 4.4.6 "image transfer process" step 5).
 *
 * Activation calls the configured callback, then the running version becomes the image's:
 * status (6) activation-successful, or (7) activation-failed when the callback refuses.
 *
 * Other refusals, each recorded as an enum ami_image_reason: a method while
 * image_transfer_enabled is false answers read-write-denied; parameters of the wrong type
 * type-unmatched; everything else (size, identifier, block number or length, no transfer
 * initiated, activation of an image that failed verification) other-reason.
 *
 * Not thread-safe per object; nothing allocates (OpenSSL does inside a verification).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_IMAGE_H
#define AMI_COSEM_IMAGE_H

#include "ami/cosem.h"
#include "ami/fwimage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most blocks one image may have (bounds the bitmap kept in ami_image_transfer). */
#define AMI_IMAGE_MAX_BLOCKS 8192u
/* Longest image_identifier accepted at initiate. */
#define AMI_IMAGE_IDENT_MAX 64u

/* image_transfer_status (Blue Book 4.4.6, attribute 6). */
enum ami_image_status {
    AMI_IMAGE_NOT_INITIATED = 0,
    AMI_IMAGE_TRANSFER_INITIATED = 1,
    AMI_IMAGE_VERIFY_INITIATED = 2,
    AMI_IMAGE_VERIFY_OK = 3,
    AMI_IMAGE_VERIFY_FAILED = 4,
    AMI_IMAGE_ACTIVATE_INITIATED = 5,
    AMI_IMAGE_ACTIVATE_OK = 6,
    AMI_IMAGE_ACTIVATE_FAILED = 7,
};

/* "not-initiated", "transfer-initiated", ... "activation-failed"; "unknown". Never NULL. */
AMI_EXTERN const char *ami_image_status_name(uint8_t status);

/* Why the last method was refused (kept until the next refusal or a new transfer). */
enum ami_image_reason {
    AMI_IMAGE_R_NONE = 0,
    AMI_IMAGE_R_DISABLED,      /* image_transfer_enabled is false: read-write-denied */
    AMI_IMAGE_R_PARAMS,        /* parameters not of the method's type: type-unmatched */
    AMI_IMAGE_R_TOO_LARGE,     /* image_size 0, above the capacity or the block limit */
    AMI_IMAGE_R_IDENT,         /* image_identifier empty or too long */
    AMI_IMAGE_R_NOT_INITIATED, /* block/verify/activate with no transfer initiated */
    AMI_IMAGE_R_BLOCK_NUMBER,  /* block number beyond the image */
    AMI_IMAGE_R_BLOCK_SIZE,    /* block of the wrong length */
    AMI_IMAGE_R_INCOMPLETE,    /* verify with blocks missing */
    AMI_IMAGE_R_HEADER,        /* not an openami image (magic, format, algorithm) */
    AMI_IMAGE_R_LENGTH,        /* image_size differs from the length the header declares */
    AMI_IMAGE_R_WRONG_ID,      /* firmware identifier not this meter's */
    AMI_IMAGE_R_NO_KEY,        /* no verification key configured: every initiate refused */
    AMI_IMAGE_R_KEY_MISMATCH,  /* the image's algorithm is not the key's curve */
    AMI_IMAGE_R_SIGNATURE,     /* the signature does not verify */
    AMI_IMAGE_R_NOT_NEWER,     /* version not strictly newer than the running one */
    AMI_IMAGE_R_NOT_VERIFIED,  /* activate after a failed verification */
    AMI_IMAGE_R_ACTIVATION,    /* the meter's activate callback refused */
};

/* A one-line English text for a reason ("signature does not verify under the configured
 * key"); "unknown" for other values. Never NULL. */
AMI_EXTERN const char *ami_image_reason_text(uint8_t reason);

typedef struct ami_image_transfer ami_image_transfer;

/*
 * Activation by the meter model: the verified image (header and payload view into the image
 * buffer, valid during the call). Returns AMI_OK, or any AMI_E_* code to refuse (status 7).
 */
typedef int (*ami_image_activate_fn)(void *user, const ami_fwimg_header *h, ami_view payload);

typedef struct ami_image_config {
    /* Image storage (caller-owned, outlives the object) and its capacity, the largest
     * image_size accepted; may be NULL / 0 without a key. */
    uint8_t *buf;
    size_t cap;
    uint32_t block_size; /* image_block_size, 1..65535 */
    /* Verification key: uncompressed P-256/P-384 point (copied); NULL: every image refused. */
    const uint8_t *key;
    size_t key_len;
    ami_fwimg_version running; /* version of the running firmware */
    /* The meter's firmware identifier (copied); id_len 0: any identifier is accepted. */
    const uint8_t *id;
    size_t id_len;
    bool deferred_verify;           /* image_verify answers temporary-failure; see above */
    bool disabled;                  /* image_transfer_enabled starts false */
    ami_image_activate_fn activate; /* NULL: activation only changes the running version */
    void *user;
} ami_image_config;

/* The object's state (ami_cosem_obj.state of a class 18 object). Fields are private. */
struct ami_image_transfer {
    ami_image_config cfg;
    uint8_t key[AMI_FWIMG_KEY_MAX];
    uint8_t id[AMI_FWIMG_ID_MAX];
    uint8_t key_alg;
    bool enabled;
    uint8_t status; /* enum ami_image_status */
    uint8_t reason; /* enum ami_image_reason of the last refusal */
    uint8_t ident[AMI_IMAGE_IDENT_MAX];
    size_t ident_len;
    uint32_t size;    /* image_size of the transfer */
    uint32_t nblocks; /* blocks of the image */
    uint32_t have;    /* blocks received */
    uint8_t bitmap[AMI_IMAGE_MAX_BLOCKS / 8];
    ami_fwimg_header hdr; /* of the verified image */
};

/*
 * Initialises the state of an Image transfer object from cfg (copied; the key and identifier
 * are copied too). Returns AMI_OK; AMI_E_INVAL (NULL); AMI_E_CONFIG (no buffer with a key, a
 * capacity without a buffer, block size 0 or
 * above 65535, an identifier above AMI_FWIMG_ID_MAX bytes); AMI_E_KEY (a key that
 * ami_fwimg_key_check refuses).
 */
AMI_EXTERN int ami_image_init(ami_image_transfer *t, const ami_image_config *cfg);

/* image_transfer_status, and the reason of the last refusal (enum ami_image_reason). */
AMI_EXTERN uint8_t ami_image_status(const ami_image_transfer *t);
AMI_EXTERN uint8_t ami_image_reason(const ami_image_transfer *t);

/* The running firmware version (changed by a successful activation). */
AMI_EXTERN ami_fwimg_version ami_image_running(const ami_image_transfer *t);

/* Completes a deferred verification (status 2); a no-op otherwise. */
AMI_EXTERN void ami_image_step(ami_image_transfer *t);

#ifdef __cplusplus
}
#endif
#endif
