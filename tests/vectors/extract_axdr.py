#!/usr/bin/env python3
"""Regenerates tests/vectors/axdr.txt from ../shared/testdata/dlms (the Data values carried by the
xDLMS APDUs and the Gurux sessions), with the expected decode written in the compact notation
described at the top of the output file. The notation is produced by the small independent
decoder below, so the C test compares two implementations.

    python3 tests/vectors/extract_axdr.py ../shared/testdata > tests/vectors/axdr.txt
SPDX-License-Identifier: Apache-2.0
"""
import struct
import sys

FIXED = {0: 0, 3: 1, 5: 4, 6: 4, 13: 1, 15: 1, 16: 2, 17: 1, 18: 2, 20: 8, 21: 8, 22: 1,
         23: 4, 24: 8, 25: 12, 26: 5, 27: 4, 255: 0}


class Bad(Exception):
    pass


def length(b, i):
    if i >= len(b):
        raise Bad("truncated")
    x = b[i]
    if x < 0x80:
        return x, i + 1
    k = x & 0x7F
    if k == 0 or k > 4 or i + 1 + k > len(b):
        raise Bad("length")
    return int.from_bytes(b[i + 1:i + 1 + k], "big"), i + 1 + k


def scalar(t, b, i):
    """Notation of the contents of a non-container value of type t at b[i:]."""
    if t in (0, 255):
        return ("null" if t == 0 else "dc"), i
    if t in FIXED:
        n = FIXED[t]
        if i + n > len(b):
            raise Bad("truncated")
        c = b[i:i + n]
        j = i + n
        if t == 3:
            return "bool:%d" % c[0], j
        if t in (5, 15, 16, 20):
            v = int.from_bytes(c, "big", signed=True)
            return {5: "i32", 15: "i8", 16: "i16", 20: "i64"}[t] + ":%d" % v, j
        if t in (6, 17, 18, 21, 22, 13):
            v = int.from_bytes(c, "big")
            return {6: "u32", 17: "u8", 18: "u16", 21: "u64", 22: "enum", 13: "bcd"}[t] + ":%d" % v, j
        return {23: "f32", 24: "f64", 25: "dt", 26: "date", 27: "time"}[t] + ":" + c.hex().upper(), j
    if t in (9, 10, 12):
        n, j = length(b, i)
        if j + n > len(b):
            raise Bad("truncated")
        return {9: "os", 10: "vs", 12: "utf8"}[t] + ":" + b[j:j + n].hex().upper(), j + n
    if t == 4:
        n, j = length(b, i)
        nb = (n + 7) // 8
        if j + nb > len(b):
            raise Bad("truncated")
        return "bits:%d:%s" % (n, b[j:j + nb].hex().upper()), j + nb
    raise Bad("tag %d" % t)


def desc(b, i):
    """Parses a TypeDescription: returns (tree, next index). tree = (tag, count, children)."""
    t = b[i]
    i += 1
    if t == 1:
        n = int.from_bytes(b[i:i + 2], "big")
        sub, i = desc(b, i + 2)
        return (1, n, [sub]), i
    if t == 2:
        n, i = length(b, i)
        subs = []
        for _ in range(n):
            s, i = desc(b, i)
            subs.append(s)
        return (2, n, subs), i
    if t not in FIXED and t not in (4, 9, 10, 12):
        raise Bad("desc tag")
    return (t, 0, []), i


def dnote(d):
    t, n, subs = d
    if t == 1:
        return "arr%d(%s)" % (n, dnote(subs[0]))
    if t == 2:
        return "st(%s)" % " ".join(dnote(s) for s in subs)
    return "t%d" % t


def described(d, b, i):
    t, n, subs = d
    if t == 1:
        out = []
        for _ in range(n):
            s, i = described(subs[0], b, i)
            out.append(s)
        return "arr(%s)" % " ".join(out), i
    if t == 2:
        out = []
        for s in subs:
            x, i = described(s, b, i)
            out.append(x)
        return "st(%s)" % " ".join(out), i
    return scalar(t, b, i)


def data(b, i=0):
    """Returns (notation, next index, node count)."""
    if i >= len(b):
        raise Bad("truncated")
    t = b[i]
    i += 1
    if t in (1, 2):
        n, i = length(b, i)
        out, nodes = [], 1
        for _ in range(n):
            s, i, k = data(b, i)
            out.append(s)
            nodes += k
        return ("arr(" if t == 1 else "st(") + " ".join(out) + ")", i, nodes
    if t == 19:
        d, i = desc(b, i)
        n, i = length(b, i)
        end = i + n
        out = []
        while i < end:
            s, i = described(d, b, i)
            out.append(s)
        if i != end:
            raise Bad("compact")
        return "ca(%s; %s)" % (dnote(d), " ".join(out)), i, 0
    s, i = scalar(t, b, i)
    return s, i, 1


def hexlines(path):
    for line in open(path):
        line = line.split("#")[0].strip()
        if line:
            yield line


def hdlc_info(frame):
    """Information field of an HDLC frame (hex), and whether the segmentation bit is set."""
    f = bytes.fromhex(frame)
    assert f[0] == 0x7E and f[-1] == 0x7E
    fmt = int.from_bytes(f[1:3], "big")
    seg = bool(fmt & 0x0800)
    i = 3
    for _ in range(2):  # destination, source: bytes until one with LSB 1
        while not f[i] & 1:
            i += 1
        i += 1
    i += 1  # control
    if i + 2 >= len(f) - 3:
        return b"", seg
    return f[i + 2:len(f) - 3], seg


def apdus_from_session(path):
    """Server-to-client APDUs (RX) of a Gurux session: HDLC reassembled or wrapper."""
    buf = b""
    for line in hexlines(path):
        parts = line.split()
        if parts[0] != "RX":
            continue
        if ";" in line and "PLAIN" in line:
            yield bytes.fromhex(line.split("PLAIN")[1].strip())
            buf = b""
            continue
        h = parts[1]
        if h.startswith("7E"):
            info, seg = hdlc_info(h)
            buf += info
            if seg:
                continue
            apdu, buf = buf, b""
            if apdu[:3] == b"\xE6\xE7\x00":
                apdu = apdu[3:]
            if apdu:
                yield apdu
        else:
            yield bytes.fromhex(h)[8:]


def data_from_get_responses(apdus):
    """Data values of GET responses: normal, with-list, and reassembled with-datablock."""
    block = b""
    for a in apdus:
        if len(a) < 4 or a[0] != 0xC4:
            continue
        if a[1] == 1 and a[3] == 0:
            yield a[4:]
        elif a[1] == 3:
            n, i = length(a, 3)
            for _ in range(n):
                if a[i] != 0:
                    i += 2
                    continue
                _, j, _ = data(a, i + 1)
                yield a[i + 1:j]
                i = j
        elif a[1] == 2:
            last = a[3]
            if a[8] != 0:
                block = b""
                continue
            n, i = length(a, 9)
            block += a[i:i + n]
            if last:
                yield block
                block = b""


def main():
    base = sys.argv[1].rstrip("/") + "/dlms/"
    seen = set()
    out = []

    def add(label, b):
        try:
            note, end, nodes = data(b)
        except Bad:
            return
        b = b[:end]
        if b in seen:
            return
        seen.add(b)
        out.append((label, b, note))

    plain = {}
    for line in hexlines(base + "xdlms_apdus_plain.txt"):
        k, v = line.split()[:2]
        plain[k] = bytes.fromhex(v)
    add("xdlms get-response-normal_double-long-unsigned", plain["get-response-normal_double-long-unsigned"][4:])
    add("xdlms action-response octet-string17", plain["action-response-normal_with-data_octet-string17"][6:])
    add("xdlms set-request clock date-time", plain["set-request-normal_clock_attr2_date-time"][13:])
    add("xdlms selective-access range-descriptor", plain["selective-access_range-descriptor_only"][1:])
    add("xdlms get-request range-descriptor", plain["get-request-normal_profile-generic_1.0.99.1.0.255_attr2_with_range-descriptor"][14:])
    add("xdlms action-request HLS reply", plain["action-request-normal_assoc-ln_0.0.40.0.0.255_m1_reply_to_HLS_authentication"][13:])
    for name in ("session_gurux_hdlc_ln_noauth_get_clock.txt", "session_gurux_hdlc_ln_lls.txt",
                 "session_gurux_hdlc_ln_hls5_gmac_authenc.txt",
                 "session_gurux_hdlc_ln_read_profile_generic.txt",
                 "session_gurux_wrapper_ln_read_all_incl_selective_access.txt"):
        short = name.replace("session_gurux_", "gurux ").replace(".txt", "")
        for k, d in enumerate(data_from_get_responses(apdus_from_session(base + name))):
            add("%s #%d" % (short, k), d)
    print("# A-XDR Data vectors extracted from ../shared/testdata/dlms by tests/vectors/extract_axdr.py.")
    print("# Each record is three lines:  label <text> / hex <value> / expect <notation>.")
    print("# Notation: null dc bool:N u8:N i8:N u16:N i16:N u32:N i32:N u64:N i64:N enum:N bcd:N")
    print("#   f32:HEX f64:HEX dt:HEX date:HEX time:HEX os:HEX vs:HEX utf8:HEX bits:NBITS:HEX")
    print("#   arr(e e ...) st(e e ...) ca(DESC; e e ...) with DESC = tN | arrN(DESC) | st(DESC ...)")
    print("# Notations longer than 2000 characters are replaced by `nodes:N` (the node count).")
    for label, b, note in out:
        print("label " + label)
        print("hex " + b.hex().upper())
        if len(note) > 2000:
            _, _, nodes = data(b)
            note = "nodes:%d" % nodes
        print("expect " + note)


main()
