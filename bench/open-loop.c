/*
 * Open-loop HTTP/1.1 load at a fixed rate, for the bench's fixed-rate latency table.
 *
 * Why this exists: wrk2 (the usual tool) is not packaged in Debian, h2load --rps fires all its
 * clients' timers together (bursts of one request per connection), and a Node generator costs
 * more CPU per request than the proxy it measures on a 2-core machine. This one spaces requests
 * evenly (request k is due at start + k / rate), sends each on an idle keep-alive connection,
 * and counts each latency from the request's due time, so a stall anywhere shows in the tail
 * instead of slowing the schedule down (no coordinated omission).
 *
 * usage: open-loop <host> <port> <path> <connections> <rate> <seconds>
 * prints one line of JSON: {"requests":…,"seconds":…,"rps":…,"p50Ms":…,"p99Ms":…,"errors":…}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define BUF_BYTES 65536
/* how long the last requests may take after the schedule ends before they count as errors */
#define DRAIN_NS 2000000000LL

typedef struct {
  int fd;
  int busy;
  int64_t due_ns; /* due time of the request in flight */
  size_t have;
  char buf[BUF_BYTES];
} conn_t;

static struct sockaddr_in addr;
static char request[1024];
static size_t request_len;
static int epfd;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int open_conn(conn_t *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) return -1;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
  c->busy = 0;
  c->have = 0;
  return 0;
}

static void reopen_conn(conn_t *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  open_conn(c);
}

/* Length of a complete response at the start of buf, 0 when more is needed, -1 when unusable. */
static long complete_length(const char *buf, size_t have, int *status, int *closes) {
  const char *end = memmem(buf, have, "\r\n\r\n", 4);
  if (!end) return have >= BUF_BYTES ? -1 : 0;
  size_t head = (size_t)(end - buf) + 4;
  if (have < 12 || memcmp(buf, "HTTP/1.", 7) != 0) return -1;
  *status = atoi(buf + 9);
  long body = -1;
  *closes = 0;
  for (const char *line = (const char *)memchr(buf, '\n', head) + 1; line < end;) {
    const char *eol = memchr(line, '\n', (size_t)(end + 2 - line));
    size_t len = (size_t)(eol - line);
    if (len > 15 && strncasecmp(line, "content-length:", 15) == 0) body = atol(line + 15);
    else if (len > 11 && strncasecmp(line, "connection:", 11) == 0 && memmem(line, len, "close", 5)) *closes = 1;
    line = eol + 1;
  }
  if (body < 0) return -1; /* the rows all answer with content-length */
  return head + body > BUF_BYTES ? -1 : (have >= head + (size_t)body ? (long)(head + body) : 0);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: open-loop <host> <port> <path> <connections> <rate> <seconds>\n");
    return 2;
  }
  int connections = atoi(argv[4]);
  double rate = atof(argv[5]);
  double seconds = atof(argv[6]);
  if (connections < 1 || rate <= 0 || seconds <= 0) {
    fprintf(stderr, "open-loop: connections, rate and seconds must be positive\n");
    return 2;
  }
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    fprintf(stderr, "open-loop: %s is not an IPv4 address\n", argv[1]);
    return 2;
  }
  request_len = (size_t)snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: strangler-bench\r\n\r\n", argv[3], argv[1], argv[2]);

  size_t total = (size_t)(rate * seconds);
  int64_t *latencies = malloc(total * sizeof *latencies);
  int64_t *queue = malloc(total * sizeof *queue); /* due times not yet sent, oldest first */
  conn_t *conns = calloc((size_t)connections, sizeof *conns);
  if (!latencies || !queue || !conns) return 1;
  size_t queued_head = 0, queued_tail = 0, scheduled = 0, done = 0;
  long errors = 0;

  epfd = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < connections; i++)
    if (open_conn(&conns[i]) < 0) {
      perror("open-loop: connect");
      return 1;
    }
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);

  const int64_t interval = (int64_t)(1e9 / rate);
  const int64_t start = now_ns() + 50000000LL; /* connections are up by then */
  const int64_t stop = start + (int64_t)(seconds * 1e9);
  struct epoll_event events[256];

  while (done + (size_t)errors < total) {
    int64_t now = now_ns();
    while (scheduled < total && start + (int64_t)scheduled * interval <= now) queue[queued_tail++] = start + (int64_t)(scheduled++) * interval;
    for (int i = 0; i < connections && queued_head < queued_tail; i++) {
      conn_t *c = &conns[i];
      if (c->busy) continue;
      c->due_ns = queue[queued_head++];
      c->busy = 1;
      if (write(c->fd, request, request_len) != (ssize_t)request_len) {
        errors++;
        reopen_conn(c);
      }
    }
    if (scheduled == total && now > stop + DRAIN_NS) {
      for (int i = 0; i < connections; i++) errors += conns[i].busy;
      errors += (long)(queued_tail - queued_head);
      break;
    }
    if (scheduled < total) {
      int64_t next = start + (int64_t)scheduled * interval;
      struct itimerspec its = {.it_value = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL}};
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int n = epoll_wait(epfd, events, 256, scheduled < total ? -1 : 100);
    for (int e = 0; e < n; e++) {
      conn_t *c = events[e].data.ptr;
      if (!c) {
        uint64_t expirations;
        if (read(tfd, &expirations, sizeof expirations) < 0) { /* spurious wake-up: nothing to do */ }
        continue;
      }
      ssize_t got = read(c->fd, c->buf + c->have, BUF_BYTES - c->have);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        if (c->busy) errors++;
        reopen_conn(c);
        continue;
      }
      c->have += (size_t)got;
      int status = 0, closes = 0;
      long length = complete_length(c->buf, c->have, &status, &closes);
      if (length == 0) continue;
      if (length < 0 || status >= 400) errors++;
      else latencies[done++] = now_ns() - c->due_ns;
      c->busy = 0;
      if (length < 0 || closes) reopen_conn(c);
      else {
        memmove(c->buf, c->buf + length, c->have - (size_t)length);
        c->have -= (size_t)length;
      }
    }
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  qsort(latencies, done, sizeof *latencies, cmp_i64);
  double p50 = done ? (double)latencies[(size_t)(done * 0.50)] / 1e6 : 0;
  double p99 = done ? (double)latencies[(size_t)(done * 0.99)] / 1e6 : 0;
  printf("{\"requests\":%zu,\"seconds\":%.3f,\"rps\":%.1f,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"errors\":%ld}\n", done, elapsed, (double)done / elapsed, p50, p99, errors);
  return 0;
}
