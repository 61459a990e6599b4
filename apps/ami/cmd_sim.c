/*
 * ami sim: a fleet of virtual DLMS/COSEM meters (one by default) on one libuv event loop, each
 * served over the TCP wrapper, the UDP wrapper and HDLC over TCP, with per-meter keys and fault
 * injection (docs/sim.md).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cli.h"
#include "fw_keys.h"
#include "keys.h"
#include "sim_ports.h"
#include "sim_push.h"
#include "sim_server.h"

#define SIM_MAX_FAULT_OPTS 32

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ami sim --listen ADDR [--meters N] [OPTIONS]\n\n"
            "Serves virtual DLMS/COSEM meters (logical name referencing) until SIGTERM or SIGINT,\n"
            "each with the standard meter profile (docs/meter-profile.md): identity\n"
            "0-0:96.1.0.255, clock 0-0:1.0.0.255, energies A+/A-/R+/R- total and per tariff,\n"
            "per-phase U, I, P, Q, S, PF, frequency, demand 1-0:1.4.0 and maximum demand\n"
            "1-0:1.6.x with times, load profiles 1-0:99.1.0.255 (15 min) and 1-0:99.2.0.255\n"
            "(daily) and billing 0-0:98.1.0.255 holding history (--history-days), event logs\n"
            "0-0:99.98.x.255, Association LN 0-0:40.0.0.255; fed by the metrology model;\n"
            "control objects: disconnect control 0-0:96.3.10.255, activity calendar\n"
            "0-0:13.0.0.255 (drives the tariffs), schedules 0-0:15.0.0.255 (end of billing) and\n"
            "0-0:15.0.4.255 (push), script tables 0-0:10.0.0/1/100/108.255, push setup\n"
            "0-0:25.9.0.255 (TCP/UDP to its destination), SAP assignment 0-0:41.0.0.255.\n"
            "Client SAP 16: no authentication (read only); SAP 17: LLS with the password\n"
            "(may also set the clock, use the control objects and update the firmware through\n"
            "Image transfer 0-0:44.0.0.255, docs/firmware.md); SAP 1: management,\n"
            "HLS-GMAC with authenticated encryption (suite 0), Security Setup 0-0:43.0.0.255\n"
            "(key_transfer; key pairs, CSR and certificates in memory: ami dlms cert),\n"
            "invocation counter 0-0:43.1.0.255 readable by SAP 16. Meter i listens on address\n"
            "ADDR+i (inside 127.0.0.0/8 when N > 1). Prints one \"listening\" line on stderr\n"
            "when every meter is ready.\n\n");
    fprintf(out,
            "  --listen ADDR       IPv4 address of meter 0 (e.g. 127.0.0.1 or 127.1.0.1)\n"
            "  --meters N          number of meters (default 1; up to the end of 127.0.0.0/8)\n"
            "  --port PORT         TCP and UDP wrapper port (default 4059; 0 = any free port)\n"
            "  --hdlc-port PORT    HDLC over TCP port (default 4060; 0 = any free port)\n"
            "  --no-hdlc           no HDLC listeners\n"
            "  --udp, --no-udp     UDP wrapper listeners on the wrapper port (default on)\n"
            "  --single-listener   one wildcard listener per port instead of one per meter\n"
            "                      (chosen by itself when the open-file limit is too low)\n"
            "  --password P        LLS password of SAP 17 for every meter (default 12345678,\n"
            "                      or derived per meter with --seed)\n"
            "  --serial S          serial number of the meter when N = 1 (default\n"
            "                      AMI0000000001; meter i is AMI<i+1, 10 digits>)\n"
            "  --seed TEXT         fleet seed: per-meter keys (EK, AK, KEK) and passwords are\n"
            "                      HMAC-SHA256(seed, label || index)\n"
            "  --keys FILE         per-meter keys and passwords from a CSV (rows in meter order,\n"
            "                      header address,port,system_title,ek,ak,kek,password)\n"
            "  --keys-out FILE     write that CSV (mode 0600) once all meters listen, and again\n"
            "                      (atomically) when a key_transfer changes a meter's keys\n"
            "  --state-dir DIR     keep each meter's server invocation counter in\n"
            "                      DIR/<system title>.server (written ahead in steps of 1024):\n"
            "                      a restarted fleet continues above it. Without: counters start\n"
            "                      at 8 x the seconds since 2024-01-01 UTC\n"
            "  --ek HEX            SAP 1 global unicast encryption key (16 bytes) of every\n"
            "                      meter, instead of the seed's or the CSV's\n"
            "  --ak HEX            SAP 1 authentication key (16 bytes) of every meter\n"
            "  --kek HEX           SAP 1 master key for key_transfer (16 bytes) of every meter\n"
            "  --system-title HEX  the meter's system title (8 bytes; one meter only)\n");
    fprintf(out,
            "  --client-public-key PEM   the management client's P-256 public key: opens SAP 2\n"
            "                      (HLS-ECDSA, suite 1, authenticated encryption, general-\n"
            "                      ciphering agreed-key); each meter's key pair derives from\n"
            "                      the seed and its system title, made at the first use\n"
            "  --ec-keys-out DIR   write each meter's SAP 2 public key as DIR/<system title\n"
            "                      hex>.pem once all meters listen (needs --client-public-key)\n"
            "  --fault LINE        a fault command applied at start (repeatable), e.g.\n"
            "                      --fault 'all delay 200ms jitter 50ms'\n"
            "  --fault-seed N      seed of the fault generators (default 1)\n"
            "  --speed N           simulated seconds per real second (default 1: the system\n"
            "                      time; 1..1000000): the meter clock, metrology, demand,\n"
            "                      profiles, schedules and P1/optical readouts follow it\n"
            "  --history-days D    history a new meter starts with (default 35; 0..366)\n"
            "  --control PATH      unix socket taking fault commands, one per line\n"
            "                      (fault T KIND [ARGS], clear T [KIND], status T, help)\n"
            "  --p1 pty|tcp:PORT   a DSMR 5.0.2 P1 telegram every second from each meter, on a\n"
            "                      new pty or a TCP listener on the meter's address (0: any\n"
            "                      free port)\n"
            "  --p1-key HEX        encrypt the P1 telegrams as Luxembourg Smarty frames with\n"
            "                      this AES-128 key (default authentication key)\n"
            "  --optical pty       IEC 62056-21 optical port on a new pty: mode C readout, P1\n"
            "                      password programming, mode E hand-over to DLMS over HDLC\n"
            "  --hdlc-pty          DLMS/COSEM over HDLC directly on a new pty\n"
            "                      (each pty path is printed on stderr: \"p1 port: /dev/pts/N\")\n"
            "  --fw-key PUB.pem    firmware verification key (EC P-256/P-384 PEM) of every\n"
            "                      meter's Image transfer (blocks of 256 bytes, images up to\n"
            "                      64 KiB, identifier OPENAMI-SIM); without it every image is\n"
            "                      refused (reason in 0-0:44.128.0.255)\n"
            "  --fw-version V      running firmware version, 1-0:0.2.0.255 (default: this\n"
            "                      build's)\n"
            "  -v, --verbose       log connections and fault commands on stderr\n"
            "  -h, --help          this help\n\n"
            "Faults (T: a meter index, a range A-B, or all): refuse, drop [P], delay D\n"
            "[jitter J], corrupt [P], stop, reboot [D], drift PPM, tamper. See docs/sim.md.\n");
}

static bool parse_port(const char *s, uint16_t *out)
{
    long v;
    if (!cli_parse_long(s, 0, 65535, &v))
        return false;
    *out = (uint16_t)v;
    return true;
}

enum {
    OPT_EK = 1000,
    OPT_AK,
    OPT_KEK,
    OPT_ST,
    OPT_CLIENT_PUB,
    OPT_EC_KEYS_OUT,
    OPT_P1,
    OPT_P1_KEY,
    OPT_OPTICAL,
    OPT_HDLC_PTY,
    OPT_FW_KEY,
    OPT_FW_VERSION,
    OPT_SPEED,
    OPT_HISTORY,
    OPT_STATE_DIR
};

/* One of --ek/--ak/--kek (16 bytes: suite 0) or --system-title (8 bytes) into keys. */
static int sim_key_option(int c, const char *hex, struct cli_keys *keys)
{
    const char *name = c == OPT_EK    ? "ek"
                       : c == OPT_AK  ? "ak"
                       : c == OPT_KEK ? "kek"
                                      : "system-title";
    struct cli_key *k = c == OPT_EK    ? &keys->ek
                        : c == OPT_AK  ? &keys->ak
                        : c == OPT_KEK ? &keys->kek
                                       : &keys->system_title;
    int st = cli_key_set_hex("sim", name, hex, k);
    if (st == 0 && c != OPT_ST && k->len != 16)
        st = cli_usage("sim", "--%s: suite 0 needs a 16-byte key", name);
    if (st == 0 && c == OPT_ST && k->len != 8)
        st = cli_usage("sim", "--system-title: 8 bytes");
    return st;
}

/* Gives every meter the firmware key and version and, with a key, its image storage (one
 * block of SIM_FW_CAP bytes per meter in *bufs, freed by the caller after the fleet). */
static int sim_fw_setup(sim_fleet *f, const uint8_t *key, size_t key_len, ami_fwimg_version v,
                        uint8_t **bufs)
{
    size_t n = sim_fleet_count(f);
    *bufs = NULL;
    if (key && !(*bufs = calloc(n, SIM_FW_CAP)))
        return AMI_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = sim_meter_set_fw(sim_fleet_meter(f, i), key, key_len, v,
                                  key ? *bufs + i * (size_t)SIM_FW_CAP : NULL);
        if (rc != AMI_OK)
            return rc;
    }
    return AMI_OK;
}

static int run(struct ami_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"meters", required_argument, NULL, 'n'},
        {"port", required_argument, NULL, 'p'},
        {"hdlc-port", required_argument, NULL, 'H'},
        {"no-hdlc", no_argument, NULL, 'N'},
        {"udp", no_argument, NULL, 'U'},
        {"no-udp", no_argument, NULL, 'u'},
        {"single-listener", no_argument, NULL, 'S'},
        {"password", required_argument, NULL, 'P'},
        {"serial", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'e'},
        {"keys", required_argument, NULL, 'k'},
        {"keys-out", required_argument, NULL, 'K'},
        {"ek", required_argument, NULL, OPT_EK},
        {"ak", required_argument, NULL, OPT_AK},
        {"kek", required_argument, NULL, OPT_KEK},
        {"system-title", required_argument, NULL, OPT_ST},
        {"client-public-key", required_argument, NULL, OPT_CLIENT_PUB},
        {"ec-keys-out", required_argument, NULL, OPT_EC_KEYS_OUT},
        {"fault", required_argument, NULL, 'f'},
        {"fault-seed", required_argument, NULL, 'F'},
        {"speed", required_argument, NULL, OPT_SPEED},
        {"history-days", required_argument, NULL, OPT_HISTORY},
        {"state-dir", required_argument, NULL, OPT_STATE_DIR},
        {"control", required_argument, NULL, 'c'},
        {"p1", required_argument, NULL, OPT_P1},
        {"p1-key", required_argument, NULL, OPT_P1_KEY},
        {"optical", required_argument, NULL, OPT_OPTICAL},
        {"hdlc-pty", no_argument, NULL, OPT_HDLC_PTY},
        {"fw-key", required_argument, NULL, OPT_FW_KEY},
        {"fw-version", required_argument, NULL, OPT_FW_VERSION},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sim_ports_opts po;
    memset(&po, 0, sizeof po);
    sim_fleet_opts o = {.meters = 1,
                        .wrapper_port = 4059,
                        .hdlc_port = 4060,
                        .wrapper = true,
                        .hdlc = true,
                        .udp = true,
                        .fault_seed = 1,
                        .speed = 1,
                        .history_s = AMI_METRO_HISTORY_DEFAULT_S,
                        .verbose = cli->verbose};
    const char *faults[SIM_MAX_FAULT_OPTS];
    const char *fw_key = NULL;
    const char *client_pub = NULL; /* --client-public-key */
    ami_fwimg_version fw_version = sim_meter_default_fw();
    struct cli_keys keys; /* --ek/--ak/--kek/--system-title */
    memset(&keys, 0, sizeof keys);
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            o.listen = optarg;
            break;
        case 'n':
            if (!cli_parse_long(optarg, 1, 1L << 24, &v))
                return cli_usage("sim", "--meters: 1 to 16777216");
            o.meters = (size_t)v;
            break;
        case 'p':
            if (!parse_port(optarg, &o.wrapper_port))
                return cli_usage("sim", "a port must be 0..65535");
            break;
        case 'H':
            if (!parse_port(optarg, &o.hdlc_port))
                return cli_usage("sim", "a port must be 0..65535");
            break;
        case 'N':
            o.hdlc = false;
            break;
        case 'U':
            o.udp = true;
            break;
        case 'u':
            o.udp = false;
            break;
        case 'S':
            o.single_listener = true;
            break;
        case 'P':
            o.password = optarg;
            break;
        case 's':
            o.serial = optarg;
            break;
        case 'e':
            o.seed = (const uint8_t *)optarg;
            o.seed_len = strlen(optarg);
            break;
        case 'k':
            o.keys_in = optarg;
            break;
        case 'K':
            o.keys_out = optarg;
            break;
        case OPT_CLIENT_PUB:
            client_pub = optarg;
            break;
        case OPT_EC_KEYS_OUT:
            o.ec_keys_out = optarg;
            break;
        case 'f':
            if (o.nfaults == SIM_MAX_FAULT_OPTS)
                return cli_usage("sim", "--fault: at most %d", SIM_MAX_FAULT_OPTS);
            faults[o.nfaults++] = optarg;
            break;
        case 'F': {
            char *end;
            unsigned long long s = strtoull(optarg, &end, 0);
            if (!*optarg || *end)
                return cli_usage("sim", "--fault-seed: an unsigned integer");
            o.fault_seed = s;
            break;
        }
        case OPT_SPEED:
            if (!cli_parse_long(optarg, 1, 1000000, &v))
                return cli_usage("sim", "--speed: 1 to 1000000");
            o.speed = (uint32_t)v;
            break;
        case OPT_HISTORY:
            if (!cli_parse_long(optarg, 0, 366, &v))
                return cli_usage("sim", "--history-days: 0 to 366");
            o.history_s = (int64_t)v * 86400;
            break;
        case OPT_STATE_DIR:
            o.state_dir = optarg;
            break;
        case 'c':
            o.control = optarg;
            break;
        case OPT_EK:
        case OPT_AK:
        case OPT_KEK:
        case OPT_ST: {
            int st = sim_key_option(c, optarg, &keys);
            if (st) {
                cli_keys_wipe(&keys);
                return st;
            }
            break;
        }
        case OPT_P1:
            if (!sim_ports_parse_p1(optarg, &po))
                return cli_usage("sim", "--p1: pty or tcp:PORT");
            break;
        case OPT_P1_KEY: {
            uint8_t key[32];
            int n = ami_hex_decode(optarg, strlen(optarg), key, sizeof key);
            if (n != 16) {
                ami_wipe(key, sizeof key);
                return cli_usage("sim", "--p1-key: 32 hex digits (AES-128)");
            }
            memcpy(po.p1_key, key, 16);
            ami_wipe(key, sizeof key);
            po.p1_encrypt = true;
            break;
        }
        case OPT_OPTICAL:
            if (strcmp(optarg, "pty") != 0)
                return cli_usage("sim", "--optical: pty");
            po.optical = true;
            break;
        case OPT_HDLC_PTY:
            po.hdlc_pty = true;
            break;
        case OPT_FW_KEY:
            fw_key = optarg;
            break;
        case OPT_FW_VERSION:
            if (ami_fwimg_version_parse(optarg, strlen(optarg), &fw_version) != AMI_OK)
                return cli_usage("sim", "--fw-version: MAJOR[.MINOR[.PATCH]], each 0..65535");
            break;
        case 'v':
            o.verbose++;
            break;
        case 'h':
            help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage("sim", "bad option");
        }
    }
    o.faults = faults;
    if (optind < argc)
        return cli_usage("sim", "unexpected argument '%s'", argv[optind]);
    if (!o.listen)
        return cli_usage("sim", "--listen ADDR is required");
    if (o.password && (!*o.password || strlen(o.password) > 63 || strpbrk(o.password, ",\r\n")))
        return cli_usage("sim", "--password: 1 to 63 characters, no comma or newline");
    if (o.serial && (!*o.serial || strlen(o.serial) > SIM_SERIAL_MAX))
        return cli_usage("sim", "--serial: 1 to %d characters", SIM_SERIAL_MAX);
    if (o.serial && o.meters > 1)
        return cli_usage("sim", "--serial: only with one meter (a fleet numbers its meters)");
    if (o.seed && !o.seed_len)
        return cli_usage("sim", "--seed: not empty");
    if (o.seed && o.keys_in)
        return cli_usage("sim", "--seed and --keys: choose one");
    if (!o.wrapper && !o.hdlc)
        return cli_usage("sim", "no listener left");
    if (keys.system_title.len && o.meters > 1)
        return cli_usage("sim", "--system-title: only with one meter");
    o.ek = keys.ek.len ? keys.ek.v : NULL;
    o.ak = keys.ak.len ? keys.ak.v : NULL;
    o.kek = keys.kek.len ? keys.kek.v : NULL;
    o.system_title = keys.system_title.len ? keys.system_title.v : NULL;

    if (po.p1_encrypt && po.p1 == SIM_P1_NONE) {
        ami_wipe(po.p1_key, sizeof po.p1_key);
        return cli_usage("sim", "--p1-key needs --p1");
    }

    uint8_t fw_pub[AMI_FWIMG_KEY_MAX], fw_alg;
    size_t fw_pub_len = 0;
    char why[512];
    if (fw_key &&
        fw_load_public(fw_key, fw_pub, sizeof fw_pub, &fw_pub_len, &fw_alg, why, sizeof why)) {
        cli_keys_wipe(&keys);
        ami_wipe(po.p1_key, sizeof po.p1_key);
        return cli_fail("sim", NULL, "key", "%s", why);
    }

    signal(SIGPIPE, SIG_IGN);
    if (o.ec_keys_out && !client_pub) {
        cli_keys_wipe(&keys);
        ami_wipe(po.p1_key, sizeof po.p1_key);
        return cli_usage("sim", "--ec-keys-out needs --client-public-key");
    }
    if (client_pub) {
        FILE *fp = fopen(client_pub, "r");
        o.client_public_key = fp ? PEM_read_PUBKEY(fp, NULL, NULL, NULL) : NULL;
        if (fp)
            fclose(fp);
        if (!o.client_public_key || !EVP_PKEY_is_a(o.client_public_key, "EC") ||
            EVP_PKEY_get_bits(o.client_public_key) != 256) {
            EVP_PKEY_free(o.client_public_key);
            cli_keys_wipe(&keys);
            ami_wipe(po.p1_key, sizeof po.p1_key);
            return cli_fail("sim", client_pub, "sim", "not a P-256 public key (PEM)");
        }
    }
    sim_fleet *f = NULL;
    const char *what = NULL;
    int rc = sim_fleet_create(&f, &o, stderr, &what);
    cli_keys_wipe(&keys); /* copied into the meters */
    if (rc != AMI_OK) {
        EVP_PKEY_free(o.client_public_key);
        if (rc == AMI_E_INVAL || rc == AMI_E_RANGE)
            return cli_usage("sim", "%s", what);
        return cli_fail("sim", what, "sim", "%s", ami_strerror(rc));
    }
    uint8_t *fw_bufs = NULL;
    if ((rc = sim_fw_setup(f, fw_key ? fw_pub : NULL, fw_pub_len, fw_version, &fw_bufs))) {
        sim_fleet_destroy(f);
        EVP_PKEY_free(o.client_public_key);
        free(fw_bufs);
        return cli_fail("sim", fw_key, "firmware", "%s", ami_strerror(rc));
    }
    if ((rc = sim_ports_attach(f, &po)) != AMI_OK) {
        sim_fleet_destroy(f);
        EVP_PKEY_free(o.client_public_key);
        free(fw_bufs);
        return cli_fail("sim", "ports", "sim", "%s", ami_strerror(rc));
    }
    if ((rc = sim_push_attach(f)) != AMI_OK) {
        sim_fleet_destroy(f);
        EVP_PKEY_free(o.client_public_key);
        free(fw_bufs);
        return cli_fail("sim", "control", "sim", "%s", ami_strerror(rc));
    }
    rc = sim_fleet_run(f, &what);
    sim_fleet_destroy(f);
    EVP_PKEY_free(o.client_public_key);
    free(fw_bufs);
    if (rc != AMI_OK)
        return cli_fail("sim", what, "sim", "%s on %s", ami_strerror(rc), o.listen);
    fprintf(stderr, "ami sim: stopped\n");
    return AMI_EXIT_OK;
}

const struct ami_command ami_cmd_sim = {
    "sim", "serve virtual DLMS/COSEM meters (TCP/UDP wrapper, HDLC; a fleet)", run};
