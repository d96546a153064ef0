// sseclients: SSE subscribers that each have their own request, for the loads the shared kit's
// sseload can't express: a reconnect storm (every client resumes with its own Last-Event-ID, all at
// once) and filtered fan-out (every client asks for its own symbols).
//
//   sseclients HOST PORT SPECFILE LIVE_SEQ MAX_SEQ
//
// SPECFILE: one line per connection, "PATH<TAB>LAST-EVENT-ID" (the id may be empty). Every event's
// data carries "seq":<n> (0 <= n < MAX_SEQ) and "t":<unix ns>. Connections are opened at once, with
// non-blocking connects. Prints "READY <n>" when every connection has its 200 (or failed), records
// until stdin closes, then prints one JSON line: deliveries, distinct events per connection and
// duplicates (from a bitmap of seqs per connection), publish-to-read latency, and for the storm the
// time from the first connect until each connection was live: had read an event with seq >= LIVE_SEQ
// (one published after the storm began, so its backlog was behind it).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
#define NBUCKETS 200000  // 0.1 ms buckets up to 20 s

enum { CONNECTING, AWAITING_STATUS, STREAMING, DEAD };

typedef struct {
  int fd;
  int state;
  char *request;
  int request_len;
  char *line;
  int line_len;
  uint8_t *seen;  // one bit per seq
  uint64_t live_at;
} conn_t;

static uint64_t hist[NBUCKETS + 1], live_hist[NBUCKETS + 1];
static uint64_t received, duplicates, distinct, overflows;
static long live_seq, max_seq;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void bucket(uint64_t *h, int64_t delta_ns) {
  uint64_t b = delta_ns < 0 ? 0 : (uint64_t)delta_ns / 100000ull;
  h[b > NBUCKETS ? NBUCKETS : b]++;
}

static double percentile(const uint64_t *h, double q) {
  uint64_t total = 0, acc = 0;
  for (int b = 0; b <= NBUCKETS; b++) total += h[b];
  uint64_t want = (uint64_t)(q * (double)total);
  if (want == 0) want = 1;
  for (int b = 0; b <= NBUCKETS; b++) {
    acc += h[b];
    if (acc >= want) return b / 10.0;
  }
  return 0;
}

static int number_after(const char *line, int len, const char *key, uint64_t *out) {
  const char *p = memmem(line, (size_t)len, key, strlen(key));
  if (!p) return 0;
  p += strlen(key);
  const char *end = line + len;
  if (p >= end || *p < '0' || *p > '9') return 0;
  uint64_t v = 0;
  while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
  *out = v;
  return 1;
}

static void on_line(conn_t *c, const char *line, int len, uint64_t now, uint64_t started) {
  if (len < 5 || memcmp(line, "data:", 5) != 0) return;
  uint64_t seq, t;
  if (!number_after(line, len, "\"seq\":", &seq) || !number_after(line, len, "\"t\":", &t)) return;
  received++;
  bucket(hist, (int64_t)(now - t));
  if ((long)seq < max_seq) {
    uint8_t bit = (uint8_t)(1u << (seq & 7));
    if (c->seen[seq >> 3] & bit) duplicates++;
    else {
      c->seen[seq >> 3] |= bit;
      distinct++;
    }
  }
  if (!c->live_at && (long)seq >= live_seq) {
    c->live_at = now;
    bucket(live_hist, (int64_t)(now - started));
  }
}

static void feed(conn_t *c, const char *buf, int n, uint64_t now, uint64_t started) {
  for (int i = 0; i < n; i++) {
    char ch = buf[i];
    if (ch == '\n') {
      int len = c->line_len;
      if (len && c->line[len - 1] == '\r') len--;
      if (len >= 0) on_line(c, c->line, len, now, started);
      c->line_len = 0;
    } else if (c->line_len < LINE_MAX_BYTES) {
      c->line[c->line_len++] = ch;
    } else if (c->line_len == LINE_MAX_BYTES) {
      overflows++;
      c->line_len = LINE_MAX_BYTES + 1;  // drop the rest of this line
    }
  }
}

static int dead, errors;

static void drop(int ep, conn_t *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->state = DEAD;
  dead++;
  errors++;
}

static volatile sig_atomic_t stop_flag;
static void on_term(int s) {
  (void)s;
  stop_flag = 1;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: sseclients HOST PORT SPECFILE LIVE_SEQ MAX_SEQ\n");
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  live_seq = atol(argv[4]);
  max_seq = atol(argv[5]);
  FILE *spec = fopen(argv[3], "r");
  if (!spec) {
    perror("spec");
    return 2;
  }
  int cap = 1024, nconn = 0;
  conn_t *conns = calloc((size_t)cap, sizeof(conn_t));
  char path[2048], *text = NULL;
  size_t text_cap = 0;
  while (getline(&text, &text_cap, spec) > 0) {
    text[strcspn(text, "\n")] = 0;
    char *tab = strchr(text, '\t');
    const char *last_id = "";
    if (tab) {
      *tab = 0;
      last_id = tab + 1;
    }
    snprintf(path, sizeof path, "%s", text);
    if (nconn == cap) conns = realloc(conns, (size_t)(cap *= 2) * sizeof(conn_t));
    conn_t *c = &conns[nconn++];
    memset(c, 0, sizeof *c);
    char req[4096];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n", path, host, port);
    if (*last_id) len += snprintf(req + len, sizeof req - (size_t)len, "Last-Event-ID: %s\r\n", last_id);
    len += snprintf(req + len, sizeof req - (size_t)len, "\r\n");
    c->request = malloc((size_t)len);
    memcpy(c->request, req, (size_t)len);
    c->request_len = len;
    c->line = malloc(LINE_MAX_BYTES);
    c->seen = calloc((size_t)(max_seq / 8 + 1), 1);
  }
  fclose(spec);
  signal(SIGTERM, on_term);
  signal(SIGPIPE, SIG_IGN);
  int ep = epoll_create1(0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &sa.sin_addr);
  int ready = 0;
  uint64_t started = now_ns(), ready_at = 0;
  for (int i = 0; i < nconn; i++) {
    conn_t *c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    if (c->fd >= 0) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)) {
      if (c->fd >= 0) close(c->fd);
      c->state = DEAD;
      dead++;
      errors++;
      continue;
    }
    c->state = CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }
  fcntl(0, F_SETFL, O_NONBLOCK);
  struct epoll_event sev = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev);
  static char buf[65536];
  struct epoll_event evs[512];
  int announced = 0;
  while (!stop_flag) {
    if (!announced && ready + dead >= nconn) {
      ready_at = now_ns();
      printf("READY %d\n", ready);
      fflush(stdout);
      announced = 1;
    }
    int n = epoll_wait(ep, evs, 512, 200);
    uint64_t now = now_ns();
    for (int e = 0; e < n; e++) {
      uint32_t id = evs[e].data.u32;
      if (id == 0xffffffffu) {
        char tmp[256];
        if (read(0, tmp, sizeof tmp) == 0) stop_flag = 1;
        continue;
      }
      conn_t *c = &conns[id];
      if (c->state == CONNECTING) {
        int err = 0;
        socklen_t elen = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
        if (err || write(c->fd, c->request, (size_t)c->request_len) != c->request_len) {
          drop(ep, c);
          continue;
        }
        c->state = AWAITING_STATUS;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = id};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        continue;
      }
      for (;;) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r > 0) {
          const char *body = buf;
          if (c->state == AWAITING_STATUS) {
            char *end = memmem(buf, (size_t)r, "\r\n\r\n", 4);
            if (r < 12 || memcmp(buf + 9, "200", 3) != 0 || !end) {
              drop(ep, c);
              break;
            }
            c->state = STREAMING;
            ready++;
            body = end + 4;
          }
          feed(c, body, (int)(r - (body - buf)), now, started);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          if (c->state == STREAMING) ready--;
          drop(ep, c);
        }
        break;
      }
    }
  }
  int live = 0;
  for (int i = 0; i < nconn; i++) live += conns[i].live_at != 0;
  printf(
      "{\"connections\":%d,\"connected\":%d,\"errors\":%d,\"received\":%llu,\"distinct\":%llu,\"duplicates\":%llu,"
      "\"overflows\":%llu,\"lat_ms_p50\":%.1f,\"lat_ms_p99\":%.1f,\"lat_ms_max\":%.1f,\"ready_ms\":%.1f,"
      "\"live\":%d,\"live_ms_p50\":%.1f,\"all_live_ms\":%.1f}\n",
      nconn, ready, errors, (unsigned long long)received, (unsigned long long)distinct,
      (unsigned long long)duplicates, (unsigned long long)overflows, percentile(hist, 0.5), percentile(hist, 0.99),
      percentile(hist, 1.0), ready_at ? (double)(ready_at - started) / 1e6 : -1.0, live,
      live ? percentile(live_hist, 0.5) : -1.0, live ? percentile(live_hist, 1.0) : -1.0);
  return 0;
}
