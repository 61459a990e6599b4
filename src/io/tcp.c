/*
 * TCP and UDP socket helpers (see tcp.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "io/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ami/error.h"

uint64_t ami_io_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return AMI_E_IO;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return AMI_E_IO;
    return AMI_OK;
}

static int resolve(const char *host, const char *port, int socktype, bool passive,
                   struct addrinfo **res)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
    int rc = getaddrinfo(host, port, &hints, res);
    if (rc == EAI_SYSTEM)
        return AMI_E_IO;
    return rc == 0 ? AMI_OK : AMI_E_NOTFOUND;
}

static int remaining(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t now = ami_io_now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

int ami_io_wait(int fd, bool write, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = write ? POLLOUT : POLLIN};
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : ami_io_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int rc = poll(&p, 1, remaining(deadline));
        if (rc > 0)
            return (p.revents & (POLLERR | POLLNVAL)) && !(p.revents & (POLLIN | POLLOUT))
                       ? AMI_E_IO
                       : AMI_OK;
        if (rc == 0)
            return AMI_E_TIMEOUT;
        if (errno != EINTR)
            return AMI_E_IO;
    }
}

int ami_tcp_connect(const char *host, const char *port, int timeout_ms, int *fd)
{
    if (!host || !port || !fd)
        return AMI_E_INVAL;
    *fd = -1;
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : ami_io_now_ms() + (uint64_t)timeout_ms;
    struct addrinfo *res;
    int rc = resolve(host, port, SOCK_STREAM, false, &res);
    if (rc)
        return rc;
    rc = AMI_E_IO;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s < 0)
            continue;
        if (set_flags(s)) {
            close(s);
            continue;
        }
        int one = 1;
        (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int r = connect(s, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS) {
            r = ami_io_wait(s, true, remaining(deadline));
            if (r == AMI_E_TIMEOUT) {
                close(s);
                rc = AMI_E_TIMEOUT;
                break;
            }
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                soerr = errno;
            errno = soerr;
            r = soerr ? -1 : 0;
        }
        if (r == 0) {
            *fd = s;
            rc = AMI_OK;
            break;
        }
        rc = errno == ECONNREFUSED ? AMI_E_REFUSED : AMI_E_IO;
        close(s);
    }
    freeaddrinfo(res);
    return rc;
}

static int bound_port_of(int s, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(s, (struct sockaddr *)&ss, &len) < 0)
        return AMI_E_IO;
    if (ss.ss_family == AF_INET)
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        return AMI_E_IO;
    return AMI_OK;
}

static int open_bound(const char *host, const char *port, int socktype, int backlog, int *fd,
                      uint16_t *bound_port)
{
    struct addrinfo *res;
    int rc = resolve(host, port, socktype, true, &res);
    if (rc)
        return rc;
    rc = AMI_E_IO;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s < 0)
            continue;
        int one = 1;
        (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (set_flags(s) || bind(s, ai->ai_addr, ai->ai_addrlen) < 0 ||
            (socktype == SOCK_STREAM && listen(s, backlog) < 0)) {
            close(s);
            continue;
        }
        if (bound_port && bound_port_of(s, bound_port)) {
            close(s);
            continue;
        }
        *fd = s;
        rc = AMI_OK;
        break;
    }
    freeaddrinfo(res);
    return rc;
}

int ami_tcp_listen(const char *host, const char *port, int backlog, int *fd, uint16_t *bound_port)
{
    if (!port || !fd)
        return AMI_E_INVAL;
    *fd = -1;
    return open_bound(host, port, SOCK_STREAM, backlog > 0 ? backlog : 16, fd, bound_port);
}

int ami_tcp_accept(int lfd, int *fd)
{
    for (;;) {
        int s = accept(lfd, NULL, NULL);
        if (s >= 0) {
            if (set_flags(s)) {
                close(s);
                return AMI_E_IO;
            }
            int one = 1;
            (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            *fd = s;
            return AMI_OK;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? AMI_E_AGAIN : AMI_E_IO;
    }
}

int ami_udp_open(const char *host, const char *port, bool connect_peer, int *fd,
                 uint16_t *bound_port)
{
    if (!port || !fd || (connect_peer && !host))
        return AMI_E_INVAL;
    *fd = -1;
    if (!connect_peer)
        return open_bound(host, port, SOCK_DGRAM, 0, fd, bound_port);
    struct addrinfo *res;
    int rc = resolve(host, port, SOCK_DGRAM, false, &res);
    if (rc)
        return rc;
    rc = AMI_E_IO;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s < 0)
            continue;
        if (set_flags(s) || connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
            close(s);
            continue;
        }
        if (bound_port)
            (void)bound_port_of(s, bound_port);
        *fd = s;
        rc = AMI_OK;
        break;
    }
    freeaddrinfo(res);
    return rc;
}

int ami_io_read(int fd, void *buf, size_t n)
{
    if (n > INT32_MAX)
        n = INT32_MAX;
    for (;;) {
        ssize_t r = recv(fd, buf, n, 0);
        if (r > 0)
            return (int)r;
        if (r == 0)
            return n == 0 ? 0 : AMI_E_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return AMI_E_AGAIN;
        return AMI_E_IO;
    }
}

int ami_io_write(int fd, const void *buf, size_t n, int timeout_ms)
{
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : ami_io_now_ms() + (uint64_t)timeout_ms;
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = ami_io_wait(fd, true, remaining(deadline));
            if (rc)
                return rc;
            continue;
        }
        if (w < 0 && errno == EPIPE)
            return AMI_E_CLOSED;
        return AMI_E_IO;
    }
    return AMI_OK;
}
