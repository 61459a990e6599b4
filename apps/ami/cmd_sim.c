/*
 * ami sim: one virtual DLMS/COSEM meter served over the TCP wrapper and HDLC over TCP.
 * The first step of the simulator (issue 6): the fleet (--meters N), P1 and optical ports and
 * fault injection come next.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sim_server.h"

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ami sim --listen ADDR [OPTIONS]\n\n"
            "Serves one virtual DLMS/COSEM meter (logical name referencing) until SIGTERM or\n"
            "SIGINT: identity 0-0:96.1.0.255, clock 0-0:1.0.0.255, energy registers\n"
            "1-0:1.8.0/1.8.1/1.8.2/2.8.0/2.8.1/2.8.2/3.8.0/4.8.0 and power 1-0:1.7.0/2.7.0 fed\n"
            "by the metrology model in real time, Association LN 0-0:40.0.0.255.\n"
            "Client SAP 16: no authentication (read only); SAP 17: LLS with the password\n"
            "(may also set the clock). Prints a \"listening\" line on stderr when ready.\n\n"
            "  --listen ADDR      address to listen on (e.g. 127.0.0.1)\n"
            "  --port PORT        TCP wrapper port (default 4059; 0 = any free port)\n"
            "  --hdlc-port PORT   HDLC over TCP port (default 4060; 0 = any free port)\n"
            "  --no-hdlc          no HDLC listener\n"
            "  --password P       LLS password of SAP 17 (default 12345678)\n"
            "  --serial S         meter serial number, also seeds its load (default\n"
            "                     AMI0000000001)\n"
            "  -v, --verbose      log connections on stderr\n"
            "  -h, --help         this help\n\n"
            "Not yet (issue 6): --meters N (a fleet), P1 and optical ports, fault injection.\n");
}

static volatile sig_atomic_t sim_stop;

static void on_signal(int sig)
{
    (void)sig;
    sim_stop = 1;
}

static bool port_ok(const char *s)
{
    long v;
    return cli_parse_long(s, 0, 65535, &v);
}

static int run(struct ami_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"port", required_argument, NULL, 'p'},
        {"hdlc-port", required_argument, NULL, 'H'},
        {"no-hdlc", no_argument, NULL, 'N'},
        {"password", required_argument, NULL, 'P'},
        {"serial", required_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sim_server_opts so = {.host = NULL, .wrapper_port = "4059", .hdlc_port = "4060"};
    const char *password = "12345678", *serial = "AMI0000000001";
    so.verbose = cli->verbose;
    int c;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            so.host = optarg;
            break;
        case 'p':
            so.wrapper_port = optarg;
            break;
        case 'H':
            so.hdlc_port = optarg;
            break;
        case 'N':
            so.hdlc_port = NULL;
            break;
        case 'P':
            password = optarg;
            break;
        case 's':
            serial = optarg;
            break;
        case 'v':
            so.verbose++;
            break;
        case 'h':
            help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage("sim", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage("sim", "unexpected argument '%s'", argv[optind]);
    if (!so.host)
        return cli_usage("sim", "--listen ADDR is required");
    if (!port_ok(so.wrapper_port) || (so.hdlc_port && !port_ok(so.hdlc_port)))
        return cli_usage("sim", "a port must be 0..65535");
    if (!*password || strlen(password) > 63)
        return cli_usage("sim", "--password: 1 to 63 characters");
    if (!*serial || strlen(serial) > SIM_SERIAL_MAX)
        return cli_usage("sim", "--serial: 1 to %d characters", SIM_SERIAL_MAX);

    sim_meter *m = malloc(sizeof *m);
    if (!m)
        return cli_fail("sim", NULL, NULL, "out of memory");
    int rc = sim_meter_init(m, serial, password, (int64_t)time(NULL));
    if (rc != AMI_OK) {
        free(m);
        return cli_fail("sim", serial, "meter", "%s", ami_strerror(rc));
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    const char *what = NULL;
    rc = sim_server_run(m, &so, &sim_stop, stderr, &what);
    free(m);
    if (rc != AMI_OK)
        return cli_fail("sim", what, "tcp", "%s on %s", ami_strerror(rc), so.host);
    fprintf(stderr, "ami sim: stopped\n");
    return AMI_EXIT_OK;
}

const struct ami_command ami_cmd_sim = {
    "sim", "serve a virtual DLMS/COSEM meter (TCP wrapper, HDLC)", run};
