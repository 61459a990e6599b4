/*
 * TCP and UDP socket helpers for the apps (src/io, library ami_io; not part of libami).
 *
 * The protocol cores are sans-I/O; these are the thin adapters that move their bytes: a
 * non-blocking TCP connect with a timeout (meters behind GPRS modems, gateways, terminal
 * servers carrying HDLC), a listener for simulators, UDP sockets for the wrapper over UDP, and
 * read/write helpers that map errno to AMI_E_* codes. All sockets are returned non-blocking and
 * close-on-exec. Functions are thread-safe (they share no state).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_IO_TCP_H
#define AMI_IO_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Connects to host:port (names or numeric; IPv4 and IPv6, each resolved address tried in
 * turn) within timeout_ms overall (< 0: no limit). On success *fd is a connected non-blocking
 * socket with TCP_NODELAY, owned by the caller (close it).
 * Returns AMI_OK; AMI_E_NOTFOUND when the name does not resolve; AMI_E_REFUSED when every
 * address refused; AMI_E_TIMEOUT when the time ran out; AMI_E_IO for other socket errors;
 * AMI_E_INVAL for NULL arguments.
 */
int ami_tcp_connect(const char *host, const char *port, int timeout_ms, int *fd);

/*
 * Listens on host:port (host NULL: every address; port "0": any free port). *fd is the
 * non-blocking listening socket (SO_REUSEADDR); *bound_port (may be NULL) receives the port.
 * Returns AMI_OK, AMI_E_NOTFOUND, AMI_E_IO (bind/listen failed, e.g. port in use), AMI_E_INVAL.
 */
int ami_tcp_listen(const char *host, const char *port, int backlog, int *fd, uint16_t *bound_port);

/* Accepts one connection as a non-blocking socket. Returns AMI_OK, AMI_E_AGAIN, AMI_E_IO. */
int ami_tcp_accept(int lfd, int *fd);

/*
 * Opens a UDP socket. With connect_peer, host:port is the peer (send with ami_io_write, receive
 * only from it); otherwise the socket is bound to host:port (port "0": any) and *bound_port (may
 * be NULL) receives the port. Returns AMI_OK, AMI_E_NOTFOUND, AMI_E_IO, AMI_E_INVAL.
 */
int ami_udp_open(const char *host, const char *port, bool connect_peer, int *fd,
                 uint16_t *bound_port);

/*
 * Waits until fd is readable (write false) or writable (write true), at most timeout_ms (< 0:
 * no limit). Returns AMI_OK, AMI_E_TIMEOUT, AMI_E_IO (poll failed or the socket has an error).
 */
int ami_io_wait(int fd, bool write, int timeout_ms);

/*
 * Reads at most n bytes. Returns the count (> 0); AMI_E_AGAIN when nothing is available;
 * AMI_E_CLOSED at end of stream; AMI_E_IO on error (ECONNRESET included).
 */
int ami_io_read(int fd, void *buf, size_t n);

/*
 * Writes all n bytes, waiting for the socket at most timeout_ms in total (< 0: no limit).
 * Returns AMI_OK; AMI_E_TIMEOUT (some bytes may have been written); AMI_E_CLOSED when the
 * peer closed (EPIPE; SIGPIPE is not raised); AMI_E_IO otherwise. For UDP, one call = one
 * datagram (n must fit one).
 */
int ami_io_write(int fd, const void *buf, size_t n, int timeout_ms);

/* Milliseconds of a monotonic clock, for the "now" the protocol engines take. */
uint64_t ami_io_now_ms(void);

#endif
