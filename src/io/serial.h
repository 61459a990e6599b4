/*
 * Serial transport for the apps (not part of libami): a termios port or a pseudo-terminal, any
 * common frame format, a baud-rate switch during the session, reads with a timeout, the echo of
 * half-duplex probes dropped on request.
 *
 * Pseudo-terminals ignore the termios parity and character size: a 7E1 stream over a pty would
 * arrive as 8-bit bytes. In software-parity mode the port therefore generates the parity bit in
 * bit 7 of every byte written and checks and strips it from every byte read, so that a pty pair
 * carries exactly what a real 7E1 line carries. AMI_SERIAL_PARITY_AUTO picks software parity for
 * ptys and termios parity for real ports.
 *
 * Used by IEC 62056-21 (300 Bd 7E1 with a baud switch), DLMS HDLC over serial (8N1) and DSMR P1
 * (115200 8N1, 9600 7E1). Not thread-safe per port; distinct ports may be used from distinct
 * threads.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_IO_SERIAL_H
#define AMI_IO_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ami_serial_format {
    AMI_SERIAL_8N1 = 0,
    AMI_SERIAL_7E1,
    AMI_SERIAL_7O1,
    AMI_SERIAL_8E1, /* no software form: a pty cannot carry 9 bits */
};

enum ami_serial_parity_mode {
    AMI_SERIAL_PARITY_AUTO = 0, /* software on ptys, termios on real ports */
    AMI_SERIAL_PARITY_TERMIOS,
    AMI_SERIAL_PARITY_SOFT,
};

typedef struct ami_serial_opts {
    uint32_t baud; /* 300 .. 230400; 0: 9600 */
    enum ami_serial_format format;
    enum ami_serial_parity_mode parity; /* how 7-bit formats get their parity */
    bool drop_echo;                     /* drop the bytes we wrote when they come back */
    bool keep_parity_errors;            /* pass bytes with a bad soft parity on (counted) */
} ami_serial_opts;

typedef struct ami_serial ami_serial;

/*
 * Opens `path` raw at the given rate and format, and flushes what is queued. Returns 0 and
 * *out, or AMI_E_IO (open or termios failure; errno kept), AMI_E_UNSUPPORTED (a rate termios
 * does not know), AMI_E_INVAL, AMI_E_NOMEM. The caller closes with ami_serial_close().
 */
int ami_serial_open(ami_serial **out, const char *path, const ami_serial_opts *o);

/*
 * Wraps an open descriptor (e.g. a pty master); `own`: close it with the port. Same returns.
 */
int ami_serial_from_fd(ami_serial **out, int fd, bool own, const ami_serial_opts *o);

/* Switches rate and format (after draining what was written). 0, AMI_E_IO or UNSUPPORTED. */
int ami_serial_set(ami_serial *s, uint32_t baud, enum ami_serial_format format);

/*
 * Reads up to cap bytes, waiting at most timeout_ms (-1: no limit). Returns the number of
 * bytes (> 0), 0 on timeout, AMI_E_CLOSED when the other end is gone, AMI_E_IO. Echoed bytes
 * (drop_echo) and bytes with a bad software parity are not returned.
 */
int ami_serial_read(ami_serial *s, void *buf, size_t cap, int timeout_ms);

/* Writes all n bytes (adding software parity). Returns 0, AMI_E_IO or AMI_E_CLOSED. */
int ami_serial_write(ami_serial *s, const void *buf, size_t n);

/* Waits until written bytes have left the port (a no-op on ptys). Returns 0 or AMI_E_IO. */
int ami_serial_drain(ami_serial *s);

/* Discards what is queued in both directions. */
void ami_serial_flush(ami_serial *s);

/* Closes the port (and the descriptor when owned) and frees it. NULL is a no-op. */
void ami_serial_close(ami_serial *s);

int ami_serial_fd(const ami_serial *s);
bool ami_serial_is_pty(const ami_serial *s);
bool ami_serial_soft_parity(const ami_serial *s);
uint32_t ami_serial_baud(const ami_serial *s);
/* Bytes received with a wrong software parity so far. */
uint64_t ami_serial_parity_errors(const ami_serial *s);

/* Even parity of the 7 low bits placed in bit 7 (the software form of 7E1). */
uint8_t ami_serial_parity7e(uint8_t c);

/*
 * Creates a pseudo-terminal pair: *master is its master descriptor (non-blocking), slave[]
 * gets the slave's path. Returns 0 or AMI_E_IO / AMI_E_NOSPACE.
 */
int ami_pty_open(int *master, char *slave, size_t cap);

/* Milliseconds on the monotonic clock: the "now" given to the sans-I/O engines. */
uint64_t ami_now_ms(void);

#endif
