/*
 * Both ends of the forwarder benchmark (bench/forward.mjs), in C so that the
 * forwarder in the middle is what is measured:
 *
 *   forward-peer serve                               a TCP server on 127.0.0.1, port on stdout; runs until stdin ends
 *   forward-peer bulk vsock|tcp PORT MIB CHUNK_BYTES  MIB MiB in writes of CHUNK_BYTES, timed until the server has read them all
 *   forward-peer pingpong vsock|tcp PORT COUNT        COUNT one-byte round trips
 *   forward-peer hold vsock|tcp PORT COUNT            COUNT connections open at once, each echoing a byte;
 *                                                    prints a line when all are in, closes them when stdin ends
 *
 * A client connects to CID 1 (vsock) or 127.0.0.1 (tcp) and says what it
 * wants with its first byte: 'B' (read to the end, answer "k") or 'P' (echo).
 * The server is one epoll loop, so a thousand held connections cost it
 * descriptors, not processes. Each client prints one JSON line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFER (256 * 1024)
#define MAX_FDS 65536

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Held connections need more descriptors than the default soft limit. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int dial(int vsock, unsigned port) {
  int fd;
  if (vsock) {
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_LOCAL, .svm_port = port};
    if ((fd = socket(AF_VSOCK, SOCK_STREAM, 0)) < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

static void read_exactly(int fd, char *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die(r == 0 ? "read: unexpected end" : "read");
    p += r;
    n -= (size_t)r;
  }
}

/* What the server knows of each connection: 0 until its first byte says 'B' or 'P'. */
static char mode[MAX_FDS];

static void serve(void) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int one = 1;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (lfd < 0) die("socket");
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(lfd, 4096) < 0) die("listen");
  if (getsockname(lfd, (struct sockaddr *)&a, &len) < 0) die("getsockname");
  printf("%u\n", ntohs(a.sin_port));
  fflush(stdout);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.fd = 0; /* stdin: its end stops the server */
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  static char buf[BUFFER];
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == 0) {
        if (read(0, buf, sizeof buf) <= 0) exit(0);
        continue;
      }
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          if (c >= MAX_FDS) {
            close(c);
            continue;
          }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          mode[c] = 0;
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        if (r == 0 && mode[fd] == 'B') {
          /* Blocking for the one-byte answer: the socket buffer is empty. */
          fcntl(fd, F_SETFL, 0);
          write(fd, "k", 1);
        }
        close(fd);
        continue;
      }
      char *p = buf;
      if (mode[fd] == 0) {
        mode[fd] = *p++;
        r--;
      }
      if (mode[fd] == 'P' && r > 0) {
        fcntl(fd, F_SETFL, 0);
        write_all(fd, p, (size_t)r);
        fcntl(fd, F_SETFL, O_NONBLOCK);
      }
    }
  }
}

int main(int argc, char **argv) {
  raise_fd_limit();
  if (argc == 2 && strcmp(argv[1], "serve") == 0) {
    serve();
    return 0;
  }
  if (argc < 5) {
    fprintf(stderr, "usage: %s serve | bulk vsock|tcp PORT MIB CHUNK_BYTES | pingpong vsock|tcp PORT COUNT | hold vsock|tcp PORT COUNT\n", argv[0]);
    return 2;
  }
  const char *what = argv[1];
  int vsock = strcmp(argv[2], "vsock") == 0;
  unsigned port = (unsigned)strtoul(argv[3], NULL, 10);
  long count = atol(argv[4]);

  if (strcmp(what, "bulk") == 0) {
    long chunk = argc > 5 ? atol(argv[5]) : 64 * 1024;
    char *data = malloc((size_t)chunk);
    memset(data, 7, (size_t)chunk);
    int fd = dial(vsock, port);
    double t0 = now();
    write_all(fd, "B", 1);
    long total = count * 1024 * 1024;
    for (long sent = 0; sent < total; sent += chunk) write_all(fd, data, (size_t)(total - sent < chunk ? total - sent : chunk));
    shutdown(fd, SHUT_WR);
    char k;
    read_exactly(fd, &k, 1);
    double secs = now() - t0;
    printf("{\"mibPerSec\":%.3f,\"seconds\":%.4f}\n", (double)count / secs, secs);
    close(fd);
  } else if (strcmp(what, "pingpong") == 0) {
    int fd = dial(vsock, port);
    char c = 'x';
    write_all(fd, "P", 1);
    /* The first round trip waits for the forwarder to reach the server: not counted. */
    write_all(fd, &c, 1);
    read_exactly(fd, &c, 1);
    double t0 = now();
    for (long i = 0; i < count; i++) {
      write_all(fd, &c, 1);
      read_exactly(fd, &c, 1);
    }
    double secs = now() - t0;
    printf("{\"usPerRoundTrip\":%.3f}\n", secs * 1e6 / (double)count);
    close(fd);
  } else if (strcmp(what, "hold") == 0) {
    int *fds = calloc((size_t)count, sizeof *fds);
    double t0 = now();
    /* In batches of 100: a thousand connects at once would only measure the listen backlogs. */
    for (long i = 0; i < count; i += 100) {
      long end = i + 100 < count ? i + 100 : count;
      for (long j = i; j < end; j++) {
        fds[j] = dial(vsock, port);
        write_all(fds[j], "Px", 2);
      }
      for (long j = i; j < end; j++) {
        char c;
        read_exactly(fds[j], &c, 1);
        if (c != 'x') die("hold: wrong echo");
      }
    }
    printf("{\"held\":%ld,\"seconds\":%.3f}\n", count, now() - t0);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    for (long i = 0; i < count; i++) close(fds[i]);
  } else {
    fprintf(stderr, "unknown measurement %s\n", what);
    return 2;
  }
  return 0;
}
