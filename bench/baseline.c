/*
 * The C baseline for bench/run.mjs: the same three measurements as the
 * Node transports, with plain blocking sockets, over vsock or TCP loopback.
 *
 *   baseline vsock|tcp bulk MIB CHUNK_BYTES | pingpong COUNT | connect COUNT | idle COUNT
 *
 * bulk: MIB MiB one way in writes of CHUNK_BYTES, timed until the server has
 * read them all; pingpong: COUNT one-byte round trips; connect: COUNT
 * connect/accept/close; idle: COUNT connections held open, and the resident
 * memory of the process holding them (fewer if the descriptor limit, raised
 * to its hard maximum, is lower). The server runs in a forked child. Prints
 * one JSON line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define READ_BUFFER (256 * 1024)

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

/* Resident set size in MiB of a process, from /proc/PID/status (VmRSS, in kB). */
static double rss_mib(pid_t pid) {
  char path[64], line[256];
  double kb = 0;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) die("fopen status");
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %lf", &kb) == 1) break;
  fclose(f);
  return kb / 1024;
}

/* Raises the soft descriptor limit to the hard one; returns how many connections fit under it. */
static long idle_capacity(long wanted) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) < 0) die("getrlimit");
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) < 0) die("setrlimit");
  if (lim.rlim_cur != RLIM_INFINITY && (rlim_t)wanted > lim.rlim_cur - 64) return (long)lim.rlim_cur - 64;
  return wanted;
}

static int ready_pipe[2]; /* idle: the server writes one byte here once it holds every connection */

static void serve(int lfd, const char *mode, long count) {
  static char buf[READ_BUFFER];
  if (strcmp(mode, "idle") == 0) {
    for (long i = 0; i < count; i++)
      if (accept(lfd, NULL, NULL) < 0) die("accept");
    write_all(ready_pipe[1], "r", 1);
    pause(); /* until the client kills us */
    return;
  }
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
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s vsock|tcp bulk MIB CHUNK_BYTES | pingpong COUNT | connect COUNT | idle COUNT\n", argv[0]);
    return 2;
  }
  use_vsock = strcmp(argv[1], "vsock") == 0;
  const char *mode = argv[2];
  long count = atol(argv[3]);
  long chunk = argc == 5 ? atol(argv[4]) : 64 * 1024;
  if (strcmp(mode, "idle") == 0) count = idle_capacity(count);
  if (pipe(ready_pipe) < 0) die("pipe");
  unsigned port;
  int lfd = listener(&port);
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    serve(lfd, mode, count);
    _exit(0);
  }
  close(lfd);

  char byte = 'x';
  double started = now(), elapsed;
  if (strcmp(mode, "idle") == 0) {
    double before = rss_mib(getpid());
    int *fds = malloc(sizeof(int) * (size_t)(count > 0 ? count : 1));
    for (long i = 0; i < count; i++) fds[i] = dial(port);
    if (read(ready_pipe[0], &byte, 1) != 1) die("read ready");
    double after = rss_mib(getpid()), server = rss_mib(child);
    printf("{\"idleConnections\":%ld,\"idleRssMiB\":%.2f,\"idleKiBPerConnection\":%.3f,\"idleServerRssMiB\":%.2f}\n", count,
           after, count > 0 ? (after - before) * 1024 / count : 0.0, server);
    fflush(stdout);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
  }
  if (strcmp(mode, "bulk") == 0) {
    char *buf = malloc((size_t)chunk);
    int fd = dial(port);
    memset(buf, 7, (size_t)chunk);
    for (long i = 0; i < count * (1024 * 1024 / chunk); i++) write_all(fd, buf, (size_t)chunk);
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
