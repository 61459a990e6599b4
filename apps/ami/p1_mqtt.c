/*
 * `ami p1 read --mqtt`: publishes telegrams with libmosquitto.
 *
 * Topics (an API, docs/p1.md): <prefix>/<meter>/<name> (one retained value per known quantity),
 * <prefix>/<meter>/state (retained JSON of the telegram, the --json schema),
 * <prefix>/availability ("online"/"offline", retained; "offline" is also the last will), and
 * Home Assistant device discovery <ha-prefix>/device/openami_<meter>/config. QoS 1 throughout.
 *
 * Single-threaded: the main loop calls p1_mqtt_service() at least every 50 ms, which runs
 * mosquitto_loop() without blocking, reconnects with exponential backoff (1 s .. 60 s, also when
 * the very first connection fails) and publishes from the queue while the broker is connected.
 * While the broker is away messages wait in the bounded queue; when it is full the oldest are
 * dropped and counted.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ami/ami.h"
#include "p1_app.h"
#include "io/url.h"

#ifdef AMI_HAVE_MOSQUITTO
#include <mosquitto.h>

#define MAX_METERS 16

struct msg {
    char *topic;
    char *payload;
    size_t len;
};

struct meter_state {
    char id[64];
    unsigned announced; /* number of components in the last discovery message (0: none) */
    unsigned long long last_ms;
    bool seen;
};

struct p1_mqtt {
    struct mosquitto *mosq;
    char prefix[256];
    char avail[300];
    const char *ha_prefix;
    unsigned interval_s;
    int verbose;
    atomic_int connected;
    bool sock; /* a connection attempt or connection is under way */
    unsigned backoff_ms;
    unsigned long long next_try_ms;
    atomic_ullong acked; /* PUBACKs received */
    atomic_ullong extra; /* messages published outside the queue ("online") */
    unsigned long long sent, dropped, skipped;
    struct msg *q;
    unsigned qcap, qhead, qlen;
    struct meter_state meters[MAX_METERS];
};

bool p1_mqtt_available(void)
{
    return true;
}

static void on_connect(struct mosquitto *mosq, void *user, int rc)
{
    struct p1_mqtt *m = user;
    if (rc != 0) {
        fprintf(stderr, "ami p1 read: mqtt: connection refused: %s\n",
                mosquitto_connack_string(rc));
        return;
    }
    if (mosquitto_publish(mosq, NULL, m->avail, 6, "online", 1, true) == MOSQ_ERR_SUCCESS)
        atomic_fetch_add(&m->extra, 1);
    atomic_store(&m->connected, 1);
    m->backoff_ms = 1000;
}

static void on_disconnect(struct mosquitto *mosq, void *user, int rc)
{
    (void)mosq;
    struct p1_mqtt *m = user;
    atomic_store(&m->connected, 0);
    if (rc != 0 && m->verbose)
        fprintf(stderr, "ami p1 read: mqtt: connection lost; reconnecting\n");
}

static void on_publish(struct mosquitto *mosq, void *user, int mid)
{
    (void)mosq;
    (void)mid;
    struct p1_mqtt *m = user;
    atomic_fetch_add(&m->acked, 1);
}

static void enqueue(struct p1_mqtt *m, const char *topic, const char *payload, size_t len)
{
    if (m->qlen == m->qcap) {
        struct msg *old = &m->q[m->qhead];
        free(old->topic);
        free(old->payload);
        m->qhead = (m->qhead + 1) % m->qcap;
        m->qlen--;
        m->dropped++;
    }
    struct msg *e = &m->q[(m->qhead + m->qlen) % m->qcap];
    e->topic = strdup(topic);
    e->payload = malloc(len + 1);
    if (!e->topic || !e->payload) {
        free(e->topic);
        free(e->payload);
        m->dropped++;
        return;
    }
    memcpy(e->payload, payload, len);
    e->payload[len] = '\0';
    e->len = len;
    m->qlen++;
}

static unsigned long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

static void lost(struct p1_mqtt *m)
{
    m->sock = false;
    atomic_store(&m->connected, 0);
    m->next_try_ms = mono_ms() + m->backoff_ms;
    m->backoff_ms = m->backoff_ms >= 30000 ? 60000 : m->backoff_ms * 2;
}

/* Runs the network once without blocking; (re)connects when due. */
static void net(struct p1_mqtt *m, int timeout_ms)
{
    if (!m->sock) {
        if (mono_ms() < m->next_try_ms)
            return;
        if (mosquitto_reconnect_async(m->mosq) != MOSQ_ERR_SUCCESS) {
            lost(m);
            return;
        }
        m->sock = true;
    }
    if (mosquitto_loop(m->mosq, timeout_ms, 1) != MOSQ_ERR_SUCCESS)
        lost(m);
}

int p1_mqtt_service(struct p1_mqtt *m)
{
    net(m, 0);
    while (m->qlen && atomic_load(&m->connected)) {
        struct msg *e = &m->q[m->qhead];
        int rc = mosquitto_publish(m->mosq, NULL, e->topic, (int)e->len, e->payload, 1, true);
        if (rc != MOSQ_ERR_SUCCESS)
            break;
        free(e->topic);
        free(e->payload);
        m->qhead = (m->qhead + 1) % m->qcap;
        m->qlen--;
        m->sent++;
    }
    if (m->qlen && atomic_load(&m->connected))
        net(m, 0);
    return 50;
}

struct p1_mqtt *p1_mqtt_open(const struct p1_mqtt_opts *o)
{
    ami_url u;
    if (ami_url_parse(o->url, &u) != 0 ||
        (strcmp(u.scheme, "mqtt") != 0 && strcmp(u.scheme, "mqtts") != 0) || !u.host[0]) {
        fprintf(stderr, "ami p1 read: --mqtt: expected mqtt://[user:pass@]host[:port]/prefix\n");
        ami_url_wipe(&u);
        return NULL;
    }
    bool tls = !strcmp(u.scheme, "mqtts");
    struct p1_mqtt *m = calloc(1, sizeof *m);
    if (!m) {
        ami_url_wipe(&u);
        return NULL;
    }
    m->qcap = o->queue_max ? o->queue_max : 1;
    m->q = calloc(m->qcap, sizeof *m->q);
    m->ha_prefix = o->ha_prefix;
    m->interval_s = o->interval_s;
    m->verbose = o->verbose;
    const char *path = u.path[0] == '/' ? u.path + 1 : u.path;
    if (!path[0])
        path = "openami";
    size_t pl = strnlen(path, sizeof m->prefix - 1);
    memcpy(m->prefix, path, pl);
    m->prefix[pl] = '\0';
    while (pl > 0 && m->prefix[pl - 1] == '/')
        m->prefix[--pl] = '\0';
    snprintf(m->avail, sizeof m->avail, "%s/availability", m->prefix);
    mosquitto_lib_init();
    char cid[64];
    snprintf(cid, sizeof cid, "openami-p1-%ld", (long)getpid());
    m->mosq = mosquitto_new(cid, true, m);
    if (!m->q || !m->mosq) {
        fprintf(stderr, "ami p1 read: mqtt: out of memory\n");
        goto fail;
    }
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    if (u.user[0] &&
        mosquitto_username_pw_set(m->mosq, u.user, u.has_password ? u.password : NULL)) {
        fprintf(stderr, "ami p1 read: mqtt: bad user name\n");
        goto fail;
    }
    if (mosquitto_will_set(m->mosq, m->avail, 7, "offline", 1, true) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "ami p1 read: mqtt: cannot set the last will\n");
        goto fail;
    }
    if (tls) {
        int rc = mosquitto_tls_set(m->mosq, o->cafile, o->cafile ? NULL : "/etc/ssl/certs", NULL,
                                   NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "ami p1 read: mqtt: TLS: %s\n", mosquitto_strerror(rc));
            goto fail;
        }
    }
    int port = u.port > 0 ? u.port : tls ? 8883 : 1883;
    m->backoff_ms = 1000;
    int rc = mosquitto_connect_async(m->mosq, u.host, port, 30);
    if (rc == MOSQ_ERR_SUCCESS) {
        m->sock = true;
    } else if (rc == MOSQ_ERR_ERRNO) {
        /* The broker is away: keep going, queue, and retry (the host and port are kept). */
        if (m->verbose)
            fprintf(stderr, "ami p1 read: mqtt: %s:%d: broker not reachable yet\n", u.host, port);
        lost(m);
    } else {
        fprintf(stderr, "ami p1 read: mqtt: %s:%d: %s\n", u.host, port, mosquitto_strerror(rc));
        goto fail;
    }
    ami_url_wipe(&u);
    return m;
fail:
    ami_url_wipe(&u);
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    free(m->q);
    free(m);
    mosquitto_lib_cleanup();
    return NULL;
}

static struct meter_state *meter_of(struct p1_mqtt *m, const char *id)
{
    for (int i = 0; i < MAX_METERS; i++)
        if (m->meters[i].seen && !strcmp(m->meters[i].id, id))
            return &m->meters[i];
    for (int i = 0; i < MAX_METERS; i++) {
        if (!m->meters[i].seen) {
            m->meters[i].seen = true;
            snprintf(m->meters[i].id, sizeof m->meters[i].id, "%s", id);
            return &m->meters[i];
        }
    }
    return &m->meters[MAX_METERS - 1];
}

static bool unit_is(const char *u, size_t n, const char *s)
{
    return n == strlen(s) && !memcmp(u, s, n);
}

/* Home Assistant device_class from the unit the meter sends (and the M-Bus device type). */
static const char *unit_device_class(const char *u, size_t n, int mbus_type)
{
    if (!u || !n)
        return NULL;
    if (unit_is(u, n, "kWh") || unit_is(u, n, "Wh") || unit_is(u, n, "MWh") || unit_is(u, n, "GJ"))
        return "energy";
    if (unit_is(u, n, "kW") || unit_is(u, n, "W"))
        return "power";
    if (unit_is(u, n, "V"))
        return "voltage";
    if (unit_is(u, n, "A"))
        return "current";
    if (unit_is(u, n, "kvar") || unit_is(u, n, "var"))
        return "reactive_power";
    if (unit_is(u, n, "kvarh") || unit_is(u, n, "varh"))
        return "reactive_energy";
    if (unit_is(u, n, "kVA") || unit_is(u, n, "VA"))
        return "apparent_power";
    if (unit_is(u, n, "Hz"))
        return "frequency";
    if (unit_is(u, n, "m3"))
        return mbus_type == 7 ? "water" : "gas";
    return NULL;
}

static const char *device_class(const ami_p1_object *o, const char *u, size_t n, int mbus_type)
{
    if (o->q && o->q->kind == AMI_P1_KIND_TIMESTAMP)
        return "timestamp";
    return unit_device_class(u, n, mbus_type);
}

/* The M-Bus device type (0-n:24.1.0) of channel ch in this telegram, or -1. */
static int mbus_type(const ami_p1_telegram *t, unsigned ch)
{
    for (uint32_t i = 0; i < t->nobjects; i++) {
        const ami_p1_object *o = &t->objects[i];
        if (!(o->flags & AMI_P1_OF_RAW) && o->obis.v[0] == 0 && o->obis.v[1] == ch &&
            o->obis.v[2] == 24 && o->obis.v[3] == 1 && o->obis.v[4] == 0 && o->ngroups == 1 &&
            t->groups[o->first].type == AMI_P1_NUMBER)
            return (int)t->groups[o->first].u.mantissa;
    }
    return -1;
}

/* Opens the device discovery document of meter ms: device, origin, availability, then the
 * "components" object the caller fills with component() calls. */
static void discovery_begin(struct p1_mqtt *m, struct meter_state *ms, ami_jw *w, const char *node,
                            const char *model, size_t model_len)
{
    char s[512];
    ami_jw_obj_begin(w);
    ami_jw_key(w, "device");
    ami_jw_obj_begin(w);
    ami_jw_key(w, "identifiers");
    ami_jw_arr_begin(w);
    ami_jw_str(w, node);
    ami_jw_arr_end(w);
    ami_jw_key(w, "name");
    snprintf(s, sizeof s, "P1 meter %s", ms->id);
    ami_jw_str(w, s);
    if (model_len) {
        ami_jw_key(w, "model");
        ami_jw_strn(w, model, model_len);
    }
    if (model_len >= 3) {
        ami_jw_key(w, "manufacturer");
        ami_jw_strn(w, model, 3);
    }
    ami_jw_obj_end(w);
    ami_jw_key(w, "origin");
    ami_jw_obj_begin(w);
    ami_jw_key(w, "name");
    ami_jw_str(w, "openami");
    ami_jw_key(w, "sw_version");
    ami_jw_str(w, ami_version());
    ami_jw_obj_end(w);
    ami_jw_key(w, "availability_topic");
    ami_jw_str(w, m->avail);
    ami_jw_key(w, "qos");
    ami_jw_int(w, 1);
    ami_jw_key(w, "components");
    ami_jw_obj_begin(w);
}

/* One sensor component of the discovery document. */
static void component(struct p1_mqtt *m, struct meter_state *ms, ami_jw *w, const char *node,
                      const char *name, const char *label, const char *u, size_t ul, const char *dc,
                      const char *sc)
{
    char s[512];
    snprintf(s, sizeof s, "%s_%s", ms->id, name);
    ami_jw_key(w, s);
    ami_jw_obj_begin(w);
    ami_jw_key(w, "platform");
    ami_jw_str(w, "sensor");
    ami_jw_key(w, "name");
    ami_jw_str(w, label);
    ami_jw_key(w, "unique_id");
    snprintf(s, sizeof s, "%s_%s", node, name);
    ami_jw_str(w, s);
    ami_jw_key(w, "state_topic");
    snprintf(s, sizeof s, "%s/%s/%s", m->prefix, ms->id, name);
    ami_jw_str(w, s);
    if (ul) {
        ami_jw_key(w, "unit_of_measurement");
        ami_jw_strn(w, u, ul);
    }
    if (dc) {
        ami_jw_key(w, "device_class");
        ami_jw_str(w, dc);
    }
    if (sc && ul) {
        ami_jw_key(w, "state_class");
        ami_jw_str(w, sc);
    }
    ami_jw_obj_end(w);
}

/* Closes the document and queues it (retained) on <ha_prefix>/device/<node>/config. */
static void discovery_end(struct p1_mqtt *m, struct meter_state *ms, ami_jw *w, struct p1_buf *b,
                          const char *node, unsigned n)
{
    char s[512];
    ami_jw_obj_end(w);
    ami_jw_obj_end(w);
    if (!ami_jw_error(w) && !b->oom) {
        snprintf(s, sizeof s, "%s/device/%s/config", m->ha_prefix, node);
        enqueue(m, s, b->p, b->n);
        ms->announced = n;
    }
    p1_buf_free(b);
}

static void publish_discovery(struct p1_mqtt *m, struct meter_state *ms, const ami_p1_telegram *t)
{
    struct p1_buf b = {0};
    ami_jw w;
    ami_jw_init(&w, p1_buf_sink, &b);
    char node[96];
    snprintf(node, sizeof node, "openami_%s", ms->id);
    discovery_begin(m, ms, &w, node, t->header, t->header_len);
    unsigned n = 0;
    for (uint32_t i = 0; i < t->nobjects; i++) {
        const ami_p1_object *o = &t->objects[i];
        char name[40], val[256];
        const char *u;
        size_t ul;
        if (!o->q || ami_p1_object_name(o, name, sizeof name) <= 0 ||
            !p1_scalar_text(t, o, val, sizeof val, &u, &ul))
            continue;
        int mt = o->q->per_channel ? mbus_type(t, o->obis.v[1]) : -1;
        component(m, ms, &w, node, name, o->q->label, u, ul, device_class(o, u, ul, mt),
                  ami_p1_kind_state_class((enum ami_p1_kind)o->q->kind));
        n++;
    }
    discovery_end(m, ms, &w, &b, node, n);
}

void p1_mqtt_telegram(struct p1_mqtt *m, const char *meter, const ami_p1_telegram *t,
                      const ami_p1_frame *fr, unsigned long long now)
{
    struct meter_state *ms = meter_of(m, meter);
    if (m->interval_s && ms->last_ms && now - ms->last_ms < m->interval_s * 1000ull) {
        m->skipped++;
        return;
    }
    ms->last_ms = now;
    char topic[512], val[2048];
    unsigned scalars = 0;
    for (uint32_t i = 0; i < t->nobjects; i++) {
        const ami_p1_object *o = &t->objects[i];
        char name[40];
        const char *u;
        size_t ul;
        if (!o->q || ami_p1_object_name(o, name, sizeof name) <= 0 ||
            !p1_scalar_text(t, o, val, sizeof val, &u, &ul))
            continue;
        snprintf(topic, sizeof topic, "%s/%s/%s", m->prefix, meter, name);
        enqueue(m, topic, val, strlen(val));
        scalars++;
    }
    if (m->ha_prefix && m->ha_prefix[0] && ms->announced != scalars)
        publish_discovery(m, ms, t);
    struct p1_buf b = {0};
    ami_jw w;
    ami_jw_init(&w, p1_buf_sink, &b);
    p1_json_telegram(&w, t, fr, NULL, meter);
    if (!ami_jw_error(&w) && !b.oom) {
        snprintf(topic, sizeof topic, "%s/%s/state", m->prefix, meter);
        enqueue(m, topic, b.p, b.n);
    }
    p1_buf_free(&b);
    p1_mqtt_service(m);
}

/* State class of a reading without a known quantity, from its device class. */
static const char *reading_state_class(const char *dc)
{
    if (!dc)
        return NULL;
    if (!strcmp(dc, "energy") || !strcmp(dc, "reactive_energy") || !strcmp(dc, "gas") ||
        !strcmp(dc, "water"))
        return "total_increasing";
    return "measurement";
}

static void publish_discovery_readings(struct p1_mqtt *m, struct meter_state *ms,
                                       const ami_reading *rd, size_t n)
{
    struct p1_buf b = {0};
    ami_jw w;
    ami_jw_init(&w, p1_buf_sink, &b);
    char node[96];
    snprintf(node, sizeof node, "openami_%s", ms->id);
    discovery_begin(m, ms, &w, node, "DLMS push", 0);
    unsigned k = 0;
    for (size_t i = 0; i < n; i++) {
        if (rd[i].kind == AMI_VALUE_NONE)
            continue;
        char name[64], label[AMI_OBIS_STRLEN];
        p1_reading_name(&rd[i], name, sizeof name);
        const ami_p1_quantity *q = ami_p1_quantity_find(&rd[i].obis);
        p1_obis_str(&rd[i].obis, label);
        size_t ul = strlen(rd[i].unit);
        const char *dc = unit_device_class(rd[i].unit, ul, -1);
        const char *sc = q && !q->per_channel ? ami_p1_kind_state_class((enum ami_p1_kind)q->kind)
                                              : reading_state_class(dc);
        component(m, ms, &w, node, name, q && !q->per_channel ? q->label : label, rd[i].unit, ul,
                  dc, sc);
        k++;
    }
    discovery_end(m, ms, &w, &b, node, k);
}

void p1_mqtt_readings(struct p1_mqtt *m, const char *meter, const ami_reading *rd, size_t n,
                      unsigned long long now)
{
    struct meter_state *ms = meter_of(m, meter);
    if (m->interval_s && ms->last_ms && now - ms->last_ms < m->interval_s * 1000ull) {
        m->skipped++;
        return;
    }
    ms->last_ms = now;
    char topic[512], name[64], val[256];
    unsigned scalars = 0;
    for (size_t i = 0; i < n; i++) {
        if (rd[i].kind == AMI_VALUE_NONE)
            continue;
        int k = ami_reading_format_value(&rd[i], val, sizeof val);
        if (k < 0)
            continue;
        p1_reading_name(&rd[i], name, sizeof name);
        snprintf(topic, sizeof topic, "%s/%s/%s", m->prefix, meter, name);
        enqueue(m, topic, val, (size_t)k);
        scalars++;
    }
    if (m->ha_prefix && m->ha_prefix[0] && ms->announced != scalars)
        publish_discovery_readings(m, ms, rd, n);
    struct p1_buf b = {0};
    ami_jw w;
    ami_jw_init(&w, p1_buf_sink, &b);
    p1_json_readings(&w, rd, n, NULL, meter);
    if (!ami_jw_error(&w) && !b.oom) {
        snprintf(topic, sizeof topic, "%s/%s/state", m->prefix, meter);
        enqueue(m, topic, b.p, b.n);
    }
    p1_buf_free(&b);
    p1_mqtt_service(m);
}

void p1_mqtt_close(struct p1_mqtt *m, unsigned wait_ms, struct p1_mqtt_stats *st)
{
    /* Drain the queue and wait for every PUBACK, up to wait_ms. */
    unsigned long long end = mono_ms() + wait_ms;
    while (mono_ms() < end) {
        p1_mqtt_service(m);
        if (!m->qlen && atomic_load(&m->connected) &&
            atomic_load(&m->acked) >= m->sent + atomic_load(&m->extra))
            break;
        net(m, 20);
        if (!m->sock)
            usleep(20000);
    }
    if (atomic_load(&m->connected)) {
        if (mosquitto_publish(m->mosq, NULL, m->avail, 7, "offline", 1, true) == MOSQ_ERR_SUCCESS)
            atomic_fetch_add(&m->extra, 1);
        end = mono_ms() + 2000;
        while (mono_ms() < end && m->sock &&
               atomic_load(&m->acked) < m->sent + atomic_load(&m->extra))
            net(m, 20);
        mosquitto_disconnect(m->mosq);
        net(m, 0);
    }
    st->published = m->sent;
    st->dropped = m->dropped + m->qlen;
    st->skipped_interval = m->skipped;
    while (m->qlen) {
        free(m->q[m->qhead].topic);
        free(m->q[m->qhead].payload);
        m->qhead = (m->qhead + 1) % m->qcap;
        m->qlen--;
    }
    mosquitto_destroy(m->mosq);
    mosquitto_lib_cleanup();
    free(m->q);
    free(m);
}

#else /* without libmosquitto */

struct p1_mqtt {
    int unused;
};

bool p1_mqtt_available(void)
{
    return false;
}
struct p1_mqtt *p1_mqtt_open(const struct p1_mqtt_opts *o)
{
    (void)o;
    return NULL;
}
void p1_mqtt_telegram(struct p1_mqtt *m, const char *meter, const ami_p1_telegram *t,
                      const ami_p1_frame *fr, unsigned long long now)
{
    (void)m;
    (void)meter;
    (void)t;
    (void)fr;
    (void)now;
}
void p1_mqtt_readings(struct p1_mqtt *m, const char *meter, const ami_reading *rd, size_t n,
                      unsigned long long now)
{
    (void)m;
    (void)meter;
    (void)rd;
    (void)n;
    (void)now;
}

int p1_mqtt_service(struct p1_mqtt *m)
{
    (void)m;
    return -1;
}
void p1_mqtt_close(struct p1_mqtt *m, unsigned wait_ms, struct p1_mqtt_stats *st)
{
    (void)m;
    (void)wait_ms;
    memset(st, 0, sizeof *st);
}

#endif
