#!/usr/bin/env bash
# ami decode: layer detection (APDU, wrapper, HDLC), text and JSON output, exit statuses, the
# named leniency, and whole session traces from ../shared/testdata on standard input.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
: "${AMI:?}" "${AMI_SOURCE_DIR:?}" "${AMI_TESTDATA:?}"
D="$AMI_TESTDATA/dlms"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # expect STATUS CMD... : run, check the exit status, keep stdout/stderr
    local want=$1; shift
    set +e; "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?; set -e
    [ "$got" = "$want" ] || { cat "$tmp/out" "$tmp/err" >&2; fail "exit $got, wanted $want: $*"; }
}
has() { grep -qF -- "$1" "$tmp/out" || { cat "$tmp/out" >&2; fail "output lacks: $1"; }; }
err_has() { grep -qF -- "$1" "$tmp/err" || { cat "$tmp/err" >&2; fail "stderr lacks: $1"; }; }
json_ok() {
    if command -v python3 >/dev/null; then
        python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin if l.strip()]' <"$tmp/out" ||
            fail "invalid JSON"
    fi
}

expect 0 "$AMI" decode --help
has "Usage: ami decode"

# A bare APDU: the Green Book AARQ and its InitiateRequest.
expect 0 "$AMI" decode 601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0
has "AARQ (0x60)"
has "application-context: LN (1)"
has "initiate-request (0x01)"
has "client-max-receive-pdu-size: 1200"
has "block-transfer-with-get-or-read"

# Spaces split across arguments form one input.
expect 0 "$AMI" decode C4 01 C1 01 01
has "data-access-result: hardware-fault (1)"

# AARE with HLS-GMAC challenge, JSON.
expect 0 "$AMI" decode --json 6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008503677524A323146BE10040E0800065F1F040000501F01F40007
json_ok
has '"apdu":"AARE"'
has '"name":"authentication-required"'
has '"mechanism":{"code":5,"name":"HLS-GMAC"}'

# A ciphered APDU: the security header, not the contents.
expect 0 "$AMI" decode DB0847757275783132331E3000000005F6E21BC50858C6627E3AE492D6C83618FAD7B643553995F187
has "general-glo-ciphering (0xDB)"
has "system-title: (8 bytes) 4775727578313233"
has "invocation-counter: 5"

# A data-notification: date-time and body rendered.
expect 0 "$AMI" decode 0F4000000C0C07E90101030C0000FF8000001200E6
has "date-time: 2025-01-01 Wed 12:00:00"
has "long-unsigned 230"
expect 0 "$AMI" decode 0F0000000100020209060100010800FF0600000C80
has "1-0:1.8.0.255"

# A wrapper PDU.
expect 0 "$AMI" decode 000100100001000DC001C1000F0000280000FF0200
has "get-request (0xC0)"
has "instance-id: 0-0:40.0.0.255"

# Stray bytes after an APDU: rejected, accepted with --lenient and shown.
expect 1 "$AMI" decode C401C100090C07EA0B1607030D3B00000000090F090C07EA0B1607030D3B00000000090F
err_has "apdu: get-response (0xC4): malformed input (try --lenient)"
expect 0 "$AMI" decode --lenient C401C100090C07EA0B1607030D3B00000000090F090C07EA0B1607030D3B00000000090F
has "trailing-bytes: (18 bytes)"

# Hostile and bad input.
expect 1 "$AMI" decode C003C17F000100002A0000FF0200
err_has "input truncated"
expect 1 "$AMI" decode FF00
err_has "not supported"
expect 2 "$AMI" decode XYZ
expect 2 "$AMI" decode --bogus

# A whole TCP-wrapper session on standard input (one input per line).
expect 0 "$AMI" decode --lenient <"$D/session_gurux_wrapper_ln_read_all_incl_selective_access.txt"
has "access-selection:"
has "selector: entry-descriptor (2)"
has "selector: range-descriptor (1)"
expect 0 "$AMI" --json decode --lenient <"$D/session_gurux_wrapper_ln_read_all_incl_selective_access.txt"
json_ok

# HDLC frames, segmented responses reassembled across the lines of a trace.
expect 0 "$AMI" decode 7EA02B032110FBAFE6E600601DA109060760857405080101BE10040E01000000065F1F0400401E1DFFFFE7257E
has "HDLC frame 1: I"
has "LLC: request (E6 E6 00)"
has "AARQ (0x60)"
expect 0 "$AMI" decode --lenient <"$D/session_gurux_hdlc_ln_noauth_get_clock.txt"
has "with-datablock"
has "RLRE (0x63)"
expect 0 "$AMI" decode --json --lenient <"$D/session_gurux_hdlc_ln_lls.txt"
json_ok
has '"layer":"hdlc"'
# A frame with a bad FCS names the layer.
expect 1 "$AMI" decode 7EA0070321930F027E
err_has "hdlc: frame 1:"
echo "test_decode: ok"
