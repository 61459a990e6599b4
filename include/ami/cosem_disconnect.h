/*
 * Disconnect control (class 70, version 0; Blue Book 4.5.8) for the reference COSEM store
 * (ami/cosem.h): the state of an object of class AMI_COSEM_DISCONNECT_CONTROL, given in
 * ami_cosem_obj.state.
 *
 * Attributes: 2 output_state (boolean: true = the supply is connected), 3 control_state (enum
 * ami_disconnect_state), 4 control_mode (enum, 0..6, settable). Methods: 1 remote_disconnect,
 * 2 remote_reconnect (data ::= integer(0)).
 *
 * State transitions (Blue Book 4.5.8, figure "state diagram of the disconnect control"):
 *   a remote_reconnect   disconnected           -> connected
 *   b remote_disconnect  connected              -> disconnected
 *   c remote_disconnect  ready_for_reconnection -> disconnected
 *   d remote_reconnect   disconnected           -> ready_for_reconnection
 *   e manual_reconnect   ready_for_reconnection -> connected
 *   f manual_disconnect  connected              -> ready_for_reconnection
 *   g local_disconnect   connected              -> ready_for_reconnection
 *   h local_reconnect    ready_for_reconnection -> connected
 * and which of them each control mode allows:
 *   mode 0: none (always connected)
 *   mode 1: b c f g, d e        mode 2: b c f g, a e
 *   mode 3: b c g, d e          mode 4: b c g, a e
 *   mode 5: b c f g, d e h      mode 6: b c g, d e h
 * A trigger that the mode does not allow, or that has no transition from the current state,
 * changes nothing. A remote method that changes nothing because the object is already in the
 * state it asks for answers success; one the control mode forbids (mode 0) answers
 * temporary-failure (our choice: the Blue Book names no result for it).
 *
 * The meter model learns every change of output_state through on_output (the virtual meter
 * stops counting energy while the supply is disconnected). Not thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_DISCONNECT_H
#define AMI_COSEM_DISCONNECT_H

#include "ami/cosem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* control_state (attribute 3). */
enum ami_disconnect_state {
    AMI_DISCONNECT_DISCONNECTED = 0,
    AMI_DISCONNECT_CONNECTED = 1,
    AMI_DISCONNECT_READY_FOR_RECONNECTION = 2,
};

/* What asks for a transition: the two methods and the meter's own triggers. */
enum ami_disconnect_trigger {
    AMI_DISCONNECT_REMOTE_DISCONNECT = 1, /* method 1 (transitions b, c) */
    AMI_DISCONNECT_REMOTE_RECONNECT,      /* method 2 (a or d, by mode) */
    AMI_DISCONNECT_MANUAL_DISCONNECT,     /* push button (f) */
    AMI_DISCONNECT_MANUAL_RECONNECT,      /* push button (e) */
    AMI_DISCONNECT_LOCAL_DISCONNECT,      /* limiter, supervision (g) */
    AMI_DISCONNECT_LOCAL_RECONNECT,       /* limiter back under threshold (h) */
};

/* Called after output_state changed (true: connected). */
typedef void (*ami_disconnect_fn)(void *user, bool output_state);

typedef struct ami_cosem_disconnect {
    bool output_state;           /* attribute 2; kept equal to control_state == connected */
    uint8_t control_state;       /* attribute 3: enum ami_disconnect_state */
    uint8_t control_mode;        /* attribute 4: 0..6 */
    ami_disconnect_fn on_output; /* may be NULL */
    void *user;
} ami_cosem_disconnect;

/*
 * Starts connected in `mode` (0..6) with the callback (may be NULL). Returns AMI_OK, AMI_E_INVAL
 * (NULL d) or AMI_E_RANGE (mode above 6).
 */
AMI_EXTERN int ami_cosem_disconnect_init(ami_cosem_disconnect *d, uint8_t mode,
                                         ami_disconnect_fn on_output, void *user);

/*
 * Applies a trigger (enum ami_disconnect_trigger) as the control mode says; calls on_output when
 * output_state changes. Returns AMI_OK (a transition was made), AMI_E_STATE (no transition from
 * this state: nothing changed), AMI_E_ACCESS (the control mode does not allow the trigger) or
 * AMI_E_INVAL (NULL d, unknown trigger).
 */
AMI_EXTERN int ami_cosem_disconnect_trigger(ami_cosem_disconnect *d, unsigned trigger);

#ifdef __cplusplus
}
#endif
#endif
