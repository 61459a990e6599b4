/*
 * Serial transport over termios, with software parity for pseudo-terminals. See serial.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt */
#include "io/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ami/error.h"

#define ECHO_MAX 1024

struct ami_serial {
    int fd;
    bool own, pty, soft;
    bool drop_echo, keep_parity_errors;
    uint32_t baud;
    enum ami_serial_format format;
    enum ami_serial_parity_mode parity;
    uint64_t parity_errors;
    uint8_t echo[ECHO_MAX]; /* bytes written whose echo has not come back yet */
    size_t echo_len;
};

uint64_t ami_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint8_t ami_serial_parity7e(uint8_t c)
{
    c &= 0x7F;
    uint8_t p = c;
    p ^= p >> 4;
    p ^= p >> 2;
    p ^= p >> 1;
    return (uint8_t)(c | (p & 1) << 7);
}

static bool fd_is_pty(int fd)
{
    int n;
    if (ioctl(fd, TIOCGPTN, &n) == 0)
        return true; /* a master */
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode)) {
        unsigned maj = major(st.st_rdev);
        if (maj >= 136 && maj <= 143)
            return true; /* Unix98 pty slave */
    }
    return false;
}

static int speed_of(uint32_t baud, speed_t *sp)
{
    static const struct {
        uint32_t b;
        speed_t s;
    } t[] = {{300, B300},     {600, B600},       {1200, B1200},    {2400, B2400},
             {4800, B4800},   {9600, B9600},     {19200, B19200},  {38400, B38400},
             {57600, B57600}, {115200, B115200}, {230400, B230400}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].b == baud) {
            *sp = t[i].s;
            return AMI_OK;
        }
    return AMI_E_UNSUPPORTED;
}

static int apply(ami_serial *s, uint32_t baud, enum ami_serial_format f)
{
    speed_t sp;
    int rc = speed_of(baud, &sp);
    if (rc < 0)
        return rc;
    bool seven = f == AMI_SERIAL_7E1 || f == AMI_SERIAL_7O1;
    bool soft =
        s->parity == AMI_SERIAL_PARITY_SOFT || (s->parity == AMI_SERIAL_PARITY_AUTO && s->pty);
    struct termios tio;
    if (tcgetattr(s->fd, &tio) != 0)
        return AMI_E_IO;
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY | INPCK | ISTRIP);
    if (seven && soft) {
        tio.c_cflag |= CS8; /* parity travels in bit 7, handled here */
    } else if (seven) {
        tio.c_cflag |= CS7 | PARENB | (f == AMI_SERIAL_7O1 ? PARODD : 0);
        tio.c_iflag |= INPCK | ISTRIP;
    } else if (f == AMI_SERIAL_8E1) {
        tio.c_cflag |= CS8 | PARENB;
        tio.c_iflag |= INPCK;
    } else {
        tio.c_cflag |= CS8;
    }
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    cfsetispeed(&tio, sp);
    cfsetospeed(&tio, sp);
    if (tcsetattr(s->fd, TCSANOW, &tio) != 0)
        return AMI_E_IO;
    s->baud = baud;
    s->format = f;
    s->soft = seven && soft;
    return AMI_OK;
}

int ami_serial_from_fd(ami_serial **out, int fd, bool own, const ami_serial_opts *o)
{
    if (!out || fd < 0 || !o)
        return AMI_E_INVAL;
    ami_serial *s = calloc(1, sizeof *s);
    if (!s)
        return AMI_E_NOMEM;
    s->fd = fd;
    s->own = own;
    s->pty = fd_is_pty(fd);
    s->parity = o->parity;
    s->drop_echo = o->drop_echo;
    s->keep_parity_errors = o->keep_parity_errors;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = apply(s, o->baud ? o->baud : 9600, o->format);
    if (rc < 0) {
        s->own = false;
        ami_serial_close(s);
        return rc;
    }
    *out = s;
    return AMI_OK;
}

int ami_serial_open(ami_serial **out, const char *path, const ami_serial_opts *o)
{
    if (!out || !path || !o)
        return AMI_E_INVAL;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return AMI_E_IO;
    if (!isatty(fd)) {
        close(fd);
        errno = ENOTTY;
        return AMI_E_IO;
    }
    int rc = ami_serial_from_fd(out, fd, true, o);
    if (rc < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return rc;
    }
    tcflush(fd, TCIOFLUSH);
    return AMI_OK;
}

int ami_serial_set(ami_serial *s, uint32_t baud, enum ami_serial_format format)
{
    if (!s)
        return AMI_E_INVAL;
    (void)ami_serial_drain(s);
    return apply(s, baud, format);
}

void ami_serial_flush(ami_serial *s)
{
    if (s) {
        tcflush(s->fd, TCIOFLUSH);
        s->echo_len = 0;
    }
}

/* Strips software parity and drops echoed bytes in place; returns the bytes kept. */
static size_t filter(ami_serial *s, uint8_t *b, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b[i];
        if (s->soft) {
            if (ami_serial_parity7e(c) != c) {
                s->parity_errors++;
                if (!s->keep_parity_errors)
                    continue;
            }
            c &= 0x7F;
        }
        if (s->echo_len) {
            if (c == s->echo[0]) {
                memmove(s->echo, s->echo + 1, --s->echo_len);
                continue;
            }
            s->echo_len = 0; /* the echo stopped: what follows is the peer's */
        }
        b[k++] = c;
    }
    return k;
}

int ami_serial_read(ami_serial *s, void *buf, size_t cap, int timeout_ms)
{
    if (!s || !buf || cap == 0)
        return AMI_E_INVAL;
    uint64_t end = timeout_ms < 0 ? UINT64_MAX : ami_now_ms() + (uint64_t)timeout_ms;
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    for (;;) {
        int wait = -1;
        if (end != UINT64_MAX) {
            uint64_t now = ami_now_ms();
            wait = now >= end ? 0 : (int)(end - now > INT32_MAX ? INT32_MAX : end - now);
        }
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            return AMI_E_IO;
        }
        if (pr == 0)
            return 0;
        ssize_t r = read(s->fd, buf, cap);
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return errno == EIO ? AMI_E_CLOSED : AMI_E_IO;
        }
        if (r == 0) {
            if (pfd.revents & (POLLHUP | POLLERR))
                return AMI_E_CLOSED;
            continue;
        }
        size_t k = filter(s, (uint8_t *)buf, (size_t)r);
        if (k)
            return (int)k;
        if (wait == 0)
            return 0;
    }
}

int ami_serial_write(ami_serial *s, const void *buf, size_t n)
{
    if (!s || (!buf && n))
        return AMI_E_INVAL;
    const uint8_t *p = (const uint8_t *)buf;
    uint8_t chunk[256];
    size_t done = 0;
    while (done < n) {
        size_t m = n - done < sizeof chunk ? n - done : sizeof chunk;
        for (size_t i = 0; i < m; i++)
            chunk[i] = s->soft ? ami_serial_parity7e(p[done + i]) : p[done + i];
        size_t off = 0;
        while (off < m) {
            ssize_t w = write(s->fd, chunk + off, m - off);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN) {
                    struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
                    (void)poll(&pfd, 1, 1000);
                    continue;
                }
                return errno == EIO ? AMI_E_CLOSED : AMI_E_IO;
            }
            off += (size_t)w;
        }
        if (s->drop_echo) {
            for (size_t i = 0; i < m; i++) {
                if (s->echo_len == ECHO_MAX)
                    memmove(s->echo, s->echo + 1, --s->echo_len);
                s->echo[s->echo_len++] = (uint8_t)(p[done + i] & (s->soft ? 0x7F : 0xFF));
            }
        }
        done += m;
    }
    return AMI_OK;
}

int ami_serial_drain(ami_serial *s)
{
    if (!s)
        return AMI_E_INVAL;
    if (s->pty)
        return AMI_OK; /* no line to drain; tcdrain would wait for the peer to read */
    return tcdrain(s->fd) == 0 ? AMI_OK : AMI_E_IO;
}

void ami_serial_close(ami_serial *s)
{
    if (!s)
        return;
    if (s->own && s->fd >= 0)
        close(s->fd);
    free(s);
}

int ami_serial_fd(const ami_serial *s)
{
    return s ? s->fd : -1;
}

bool ami_serial_is_pty(const ami_serial *s)
{
    return s && s->pty;
}

bool ami_serial_soft_parity(const ami_serial *s)
{
    return s && s->soft;
}

uint32_t ami_serial_baud(const ami_serial *s)
{
    return s ? s->baud : 0;
}

uint64_t ami_serial_parity_errors(const ami_serial *s)
{
    return s ? s->parity_errors : 0;
}

int ami_pty_open(int *master, char *slave, size_t cap)
{
    if (!master || !slave)
        return AMI_E_INVAL;
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return AMI_E_IO;
    int n;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0 || ioctl(fd, TIOCGPTN, &n) != 0) {
        close(fd);
        return AMI_E_IO;
    }
    char path[32];
    int len = snprintf(path, sizeof path, "/dev/pts/%d", n);
    if (len < 0 || (size_t)len >= cap) {
        close(fd);
        return AMI_E_NOSPACE;
    }
    memcpy(slave, path, (size_t)len + 1);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    *master = fd;
    return AMI_OK;
}
