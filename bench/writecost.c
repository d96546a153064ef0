// writecost: the kernel's own cost of a fan-out's writes, as a floor for any server that makes one
// write per delivery: N loopback TCP connections (a reader drains them all with epoll), one write of
// BYTES to each connection per round, ROUNDS rounds; prints the writer's CPU (user + system, which on
// loopback includes delivering the data to the receiving socket) per write.
//
//   writecost CONNECTIONS ROUNDS BYTES
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: writecost CONNECTIONS ROUNDS BYTES\n");
    return 2;
  }
  int n = atoi(argv[1]), rounds = atoi(argv[2]), bytes = atoi(argv[3]);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  socklen_t len = sizeof sa;
  if (bind(listener, (struct sockaddr *)&sa, sizeof sa) || listen(listener, 4096) || getsockname(listener, (struct sockaddr *)&sa, &len)) {
    perror("listen");
    return 1;
  }
  int *writers = calloc((size_t)n, sizeof(int));
  int *readers = calloc((size_t)n, sizeof(int));
  for (int i = 0; i < n; i++) {
    readers[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(readers[i], (struct sockaddr *)&sa, sizeof sa)) {
      perror("connect");
      return 1;
    }
    writers[i] = accept(listener, NULL, NULL);
    int one = 1;
    setsockopt(writers[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  pid_t drain = fork();
  if (drain == 0) {  // the reader: drains every connection until they close
    for (int i = 0; i < n; i++) close(writers[i]);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
      struct epoll_event ev = {.events = EPOLLIN, .data.fd = readers[i]};
      epoll_ctl(ep, EPOLL_CTL_ADD, readers[i], &ev);
    }
    static char buf[65536];
    struct epoll_event evs[512];
    int open = n;
    while (open > 0) {
      int k = epoll_wait(ep, evs, 512, 1000);
      for (int e = 0; e < k; e++) {
        if (read(evs[e].data.fd, buf, sizeof buf) <= 0) {
          epoll_ctl(ep, EPOLL_CTL_DEL, evs[e].data.fd, NULL);
          close(evs[e].data.fd);
          open--;
        }
      }
    }
    return 0;
  }
  for (int i = 0; i < n; i++) close(readers[i]);
  char *chunk = malloc((size_t)bytes);
  memset(chunk, 'x', (size_t)bytes);
  double before = cpu_seconds();
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < n; i++) {
      if (write(writers[i], chunk, (size_t)bytes) != bytes) {
        perror("write");
        return 1;
      }
    }
    usleep(1000);  // let the reader keep up, so no write blocks on a full buffer
  }
  double spent = cpu_seconds() - before;
  for (int i = 0; i < n; i++) close(writers[i]);
  waitpid(drain, NULL, 0);
  printf("{\"connections\":%d,\"rounds\":%d,\"bytes\":%d,\"writer_cpu_s\":%.3f,\"us_per_write\":%.2f}\n", n, rounds, bytes,
         spent, spent * 1e6 / ((double)n * rounds));
  return 0;
}
