/*
 * The C baseline for bench/run.mjs: the same three measurements as the
 * Node transports, with plain blocking sockets, over vsock or TCP loopback.
 *
 *   baseline vsock|tcp bulk|pingpong|connect COUNT
 *
 * bulk: COUNT MiB one way, timed until the server has read them all;
 * pingpong: COUNT one-byte round trips; connect: COUNT connect/accept/close.
 * The server runs in a forked child. Prints one JSON line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static int use_vsock;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Binds a listener on a kernel-picked port and returns it; *port gets the port. */
static int listener(unsigned *port) {
  int fd;
  if (use_vsock) {
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = VMADDR_PORT_ANY};
    socklen_t len = sizeof a;
    if ((fd = socket(AF_VSOCK, SOCK_STREAM, 0)) < 0) die("socket");
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) die("getsockname");
    *port = a.svm_port;
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) die("socket");
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) die("getsockname");
    *port = ntohs(a.sin_port);
  }
  if (listen(fd, 511) < 0) die("listen");
  return fd;
}

static int dial(unsigned port) {
  int fd;
  if (use_vsock) {
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_LOCAL, .svm_port = port};
    if ((fd = socket(AF_VSOCK, SOCK_STREAM, 0)) < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  }
  return fd;
}

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n <= 0) die("write");
    buf += n;
    len -= (size_t)n;
  }
}

static void serve(int lfd, const char *mode, long count) {
  static char buf[CHUNK];
  if (strcmp(mode, "connect") == 0) {
    for (long i = 0; i < count; i++) {
      int c = accept(lfd, NULL, NULL);
      if (c < 0) die("accept");
      close(c);
    }
    return;
  }
  int c = accept(lfd, NULL, NULL);
  if (c < 0) die("accept");
  if (strcmp(mode, "bulk") == 0) {
    while (read(c, buf, sizeof buf) > 0) {
    }
    write_all(c, "k", 1); /* tells the client everything arrived */
  } else {
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) write_all(c, buf, (size_t)n);
  }
  close(c);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s vsock|tcp bulk|pingpong|connect COUNT\n", argv[0]);
    return 2;
  }
  use_vsock = strcmp(argv[1], "vsock") == 0;
  const char *mode = argv[2];
  long count = atol(argv[3]);
  unsigned port;
  int lfd = listener(&port);
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    serve(lfd, mode, count);
    _exit(0);
  }
  close(lfd);

  static char buf[CHUNK];
  char byte = 'x';
  double started = now(), elapsed;
  if (strcmp(mode, "bulk") == 0) {
    int fd = dial(port);
    memset(buf, 7, sizeof buf);
    for (long i = 0; i < count * (1024 * 1024 / CHUNK); i++) write_all(fd, buf, sizeof buf);
    shutdown(fd, SHUT_WR);
    if (read(fd, &byte, 1) != 1) die("read ack");
    elapsed = now() - started;
    close(fd);
    printf("{\"mibPerSec\":%.1f}\n", count / elapsed);
  } else if (strcmp(mode, "pingpong") == 0) {
    int fd = dial(port);
    for (long i = 0; i < count; i++) {
      write_all(fd, &byte, 1);
      if (read(fd, &byte, 1) != 1) die("read");
    }
    elapsed = now() - started;
    close(fd);
    printf("{\"usPerRoundTrip\":%.1f}\n", elapsed * 1e6 / count);
  } else {
    for (long i = 0; i < count; i++) close(dial(port));
    elapsed = now() - started;
    printf("{\"connPerSec\":%.1f}\n", count / elapsed);
  }
  int status;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
