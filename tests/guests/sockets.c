/* Sockets and futexes: AF_UNIX stream/datagram pairs, path and abstract names, SCM_RIGHTS and
 * SCM_CREDENTIALS, socket options and timeouts, TCP and UDP on loopback, sendmmsg/recvmmsg, signals
 * interrupting blocking calls, and the futex ops glibc uses. glibc's static i386 libc goes through
 * socketcall; some calls are made with the direct syscalls (359-373) and some with an explicit
 * socketcall, so that every path is run. Prints nothing that differs run to run (no ports, no pids). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/net.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EINTR: return "EINTR";
    case ENOTSOCK: return "ENOTSOCK";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINPROGRESS: return "EINPROGRESS";
    case ENOTCONN: return "ENOTCONN";
    case EDEADLK: return "EDEADLK";
    case EPIPE: return "EPIPE";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRINUSE: return "EADDRINUSE";
    case ENOSYS: return "ENOSYS";
    case EMSGSIZE: return "EMSGSIZE";
    case EDOM: return "EDOM";
    case EPERM: return "EPERM";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOBUFS: return "ENOBUFS";
    default: return "other";
    }
}

/* the result of a call that returns -1/errno: "ok" or the errno's name */
static const char *res(long r) { return r < 0 ? ename(errno) : "ok"; }

#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%-34s %ld %s\n", what, r_ < 0 ? -1L : r_, r_ < 0 ? ename(errno) : ""); } while (0)

static long sc(int call, unsigned long a0, unsigned long a1, unsigned long a2, unsigned long a3,
               unsigned long a4, unsigned long a5) {
    unsigned long args[6] = {a0, a1, a2, a3, a4, a5};
    return syscall(SYS_socketcall, call, args);
}

static void unix_pairs(void) {
    int sv[2];
    char buf[64];
    SHOW("socketpair stream (socketcall)", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    printf("fds %d %d\n", sv[0], sv[1]);
    SHOW("send", send(sv[0], "hello", 5, 0));
    memset(buf, 0, sizeof buf);
    SHOW("recv", recv(sv[1], buf, sizeof buf, 0));
    printf("got '%s'\n", buf);
    SHOW("write into socket", write(sv[1], "back", 4));
    memset(buf, 0, sizeof buf);
    SHOW("read from socket", read(sv[0], buf, sizeof buf));
    printf("got '%s'\n", buf);
    SHOW("recv MSG_DONTWAIT empty", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
    int type = 0;
    socklen_t len = sizeof type;
    SHOW("getsockopt SO_TYPE", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len));
    printf("type %d len %u\n", type, (unsigned)len);
    SHOW("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
    SHOW("recv after peer shutdown", recv(sv[1], buf, sizeof buf, 0));
    SHOW("send after own shutdown", send(sv[0], "x", 1, MSG_NOSIGNAL));
    close(sv[0]);
    close(sv[1]);

    int dv[2];
    SHOW("socketpair dgram (direct)", syscall(SYS_socketpair, AF_UNIX, SOCK_DGRAM, 0, dv));
    printf("fds %d %d\n", dv[0], dv[1]);
    SHOW("send 3", send(dv[0], "abc", 3, 0));
    SHOW("send 5", send(dv[0], "defgh", 5, 0));
    SHOW("recv short buffer", recv(dv[1], buf, 2, 0));
    SHOW("recv MSG_TRUNC", recv(dv[1], buf, 2, MSG_TRUNC));
    SHOW("getsockopt SO_TYPE dgram", getsockopt(dv[1], SOL_SOCKET, SO_TYPE, &type, &len));
    printf("type %d\n", type);
    int sndbuf = 0;
    len = sizeof sndbuf;
    SHOW("setsockopt SO_RCVBUF 8192", setsockopt(dv[1], SOL_SOCKET, SO_RCVBUF, &(int){8192}, sizeof(int)));
    SHOW("getsockopt SO_RCVBUF", getsockopt(dv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, &len));
    printf("rcvbuf %d len %u\n", sndbuf, (unsigned)len);
    len = 2;
    SHOW("getsockopt SO_TYPE short len", getsockopt(dv[1], SOL_SOCKET, SO_TYPE, &type, &len));
    printf("len %u\n", (unsigned)len);
    SHOW("getsockopt bad optval", getsockopt(dv[1], SOL_SOCKET, SO_TYPE, (void *)16, &(socklen_t){4}));
    close(dv[0]);
    close(dv[1]);
}

static void named(void) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, "sock.path");
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + strlen(addr.sun_path) + 1;
    int srv = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    printf("server fd %d\n", srv);
    SHOW("bind path (direct)", syscall(SYS_bind, srv, &addr, alen));
    SHOW("bind again", bind(srv, (struct sockaddr *)&addr, alen));
    SHOW("listen (direct)", syscall(SYS_listen, srv, 4));
    int cli = sc(SYS_SOCKET, AF_UNIX, SOCK_STREAM, 0, 0, 0, 0);
    SHOW("connect path (socketcall)", sc(SYS_CONNECT, cli, (unsigned long)&addr, alen, 0, 0, 0));
    struct sockaddr_un peer;
    socklen_t plen = sizeof peer;
    int acc = syscall(SYS_accept4, srv, &peer, &plen, SOCK_CLOEXEC);
    printf("accepted fd %d cloexec %d peer len %u family %d\n", acc, fcntl(acc, F_GETFD), (unsigned)plen,
           peer.sun_family);
    struct sockaddr_un name;
    socklen_t nlen = sizeof name;
    SHOW("getsockname server (direct)", syscall(SYS_getsockname, srv, &name, &nlen));
    printf("name '%s' len %u\n", name.sun_path, (unsigned)nlen);
    nlen = sizeof name;
    SHOW("getpeername client (direct)", syscall(SYS_getpeername, cli, &name, &nlen));
    printf("peer '%s' len %u\n", name.sun_path, (unsigned)nlen);
    nlen = 4;
    SHOW("getpeername truncated", getpeername(cli, (struct sockaddr *)&name, &nlen));
    printf("len %u\n", (unsigned)nlen);
    SHOW("getpeername NULL len", getpeername(cli, (struct sockaddr *)&name, NULL));
    char buf[32] = {0};
    SHOW("sendto connected (direct)", syscall(SYS_sendto, cli, "ping", 4, 0, NULL, 0));
    SHOW("recvfrom (direct)", syscall(SYS_recvfrom, acc, buf, sizeof buf, 0, NULL, NULL));
    printf("got '%s'\n", buf);
    SHOW("shutdown (direct)", syscall(SYS_shutdown, cli, SHUT_RDWR));
    SHOW("recv at eof", recv(acc, buf, sizeof buf, 0));
    close(acc);
    close(cli);
    close(srv);
    SHOW("connect after close", ({ int c = socket(AF_UNIX, SOCK_STREAM, 0);
        int r = connect(c, (struct sockaddr *)&addr, alen); int e = errno; close(c); errno = e; r; }));
    unlink("sock.path");

    /* abstract datagram names: the sender's name comes back with recvfrom */
    struct sockaddr_un a = {.sun_family = AF_UNIX}, b = {.sun_family = AF_UNIX};
    int na = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "aotc-sockets-a-%d", getpid()) + 1;
    int nb = snprintf(b.sun_path + 1, sizeof b.sun_path - 1, "aotc-sockets-b-%d", getpid()) + 1;
    socklen_t la = offsetof(struct sockaddr_un, sun_path) + na, lb = offsetof(struct sockaddr_un, sun_path) + nb;
    int sa = socket(AF_UNIX, SOCK_DGRAM, 0), sb = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("bind abstract a", bind(sa, (struct sockaddr *)&a, la));
    SHOW("bind abstract b", bind(sb, (struct sockaddr *)&b, lb));
    SHOW("sendto abstract", sendto(sa, "dgram", 5, 0, (struct sockaddr *)&b, lb));
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    memset(buf, 0, sizeof buf);
    SHOW("recvfrom abstract", recvfrom(sb, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen));
    printf("got '%s' from matches %d\n", buf, flen == la && memcmp(&from, &a, la) == 0);
    SHOW("connect abstract", connect(sa, (struct sockaddr *)&b, lb));
    SHOW("send connected dgram", send(sa, "two", 3, 0));
    flen = sizeof from;
    SHOW("recvfrom socketcall", sc(SYS_RECVFROM, sb, (unsigned long)buf, sizeof buf, 0, (unsigned long)&from,
                                    (unsigned long)&flen));
    printf("from len matches %d\n", flen == la);
    close(sa);
    close(sb);
}

static void pass_fds(void) {
    int sv[2], pp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(pp);
    write(pp[1], "through the pipe", 16);

    /* SCM_RIGHTS: the pipe's read end goes over the socket and is read from on the other side */
    char data = 'R';
    struct iovec iov = {&data, 1};
    union { char buf[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr align; } ctl, sctl;
    memset(&sctl, 0, sizeof sctl);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = sctl.buf,
                         .msg_controllen = CMSG_SPACE(sizeof(int))};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &pp[0], sizeof(int));
    SHOW("sendmsg SCM_RIGHTS", sendmsg(sv[0], &msg, 0));
    close(pp[0]);

    char got = 0;
    iov.iov_base = &got;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr in = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    SHOW("recvmsg SCM_RIGHTS", recvmsg(sv[1], &in, 0));
    cm = CMSG_FIRSTHDR(&in);
    int fd = -1;
    if (cm && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    printf("data %c controllen %u cmsg_len %u fd %d flags %#x\n", got, (unsigned)in.msg_controllen,
           cm ? (unsigned)cm->cmsg_len : 0, fd, in.msg_flags);
    char buf[32] = {0};
    SHOW("read passed pipe", read(fd, buf, sizeof buf - 1));
    printf("got '%s'\n", buf);
    close(fd);

    /* three descriptors into room for one: MSG_CTRUNC, and the other two are never installed */
    int three[3] = {pp[1], 0, 1};
    msg.msg_controllen = CMSG_SPACE(3 * sizeof(int));
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_len = CMSG_LEN(3 * sizeof(int));
    memcpy(CMSG_DATA(cm), three, sizeof three);
    iov.iov_base = &data;
    SHOW("sendmsg three fds", sendmsg(sv[0], &msg, 0));
    iov.iov_base = &got;
    memset(&ctl, 0, sizeof ctl);
    in.msg_control = ctl.buf;
    in.msg_controllen = CMSG_SPACE(sizeof(int));
    SHOW("recvmsg room for one", recvmsg(sv[1], &in, MSG_CMSG_CLOEXEC));
    cm = CMSG_FIRSTHDR(&in);
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    printf("ctrunc %d controllen %u cmsg_len %u fd %d cloexec %d next open %d\n", !!(in.msg_flags & MSG_CTRUNC),
           (unsigned)in.msg_controllen, (unsigned)cm->cmsg_len, fd, fcntl(fd, F_GETFD),
           fcntl(fd + 1, F_GETFD) >= 0);
    close(fd);

    /* no control buffer at all */
    SHOW("sendmsg one fd again", ({ msg.msg_controllen = CMSG_SPACE(sizeof(int));
        cm = CMSG_FIRSTHDR(&msg); cm->cmsg_len = CMSG_LEN(sizeof(int)); iov.iov_base = &data;
        sendmsg(sv[0], &msg, 0); }));
    in.msg_control = NULL;
    in.msg_controllen = 0;
    iov.iov_base = &got;
    SHOW("recvmsg without control", recvmsg(sv[1], &in, 0));
    printf("ctrunc %d next fd %d\n", !!(in.msg_flags & MSG_CTRUNC), dup(0));

    /* bad control messages */
    msg.msg_controllen = 5;
    SHOW("sendmsg controllen 5", sendmsg(sv[0], &msg, 0));
    msg.msg_controllen = CMSG_SPACE(sizeof(int));
    cm->cmsg_len = 4;
    SHOW("sendmsg cmsg_len 4", sendmsg(sv[0], &msg, 0));
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    int bad = 1000;
    memcpy(CMSG_DATA(cm), &bad, sizeof bad);
    SHOW("sendmsg closed fd", sendmsg(sv[0], &msg, 0));
    SHOW("sendmsg bad msghdr", sendmsg(sv[0], (struct msghdr *)8, 0));
    SHOW("sendmsg on a pipe", sendmsg(pp[1], &msg, 0));
    msg.msg_iovlen = 2000;
    SHOW("sendmsg iovlen 2000", sendmsg(sv[0], &msg, 0));
    msg.msg_iovlen = 1;

    /* SCM_CREDENTIALS */
    int on = 1;
    SHOW("setsockopt SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
    struct ucred me = {getpid(), getuid(), getgid()};
    msg.msg_controllen = CMSG_SPACE(sizeof me);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_CREDENTIALS;
    cm->cmsg_len = CMSG_LEN(sizeof me);
    memcpy(CMSG_DATA(cm), &me, sizeof me);
    iov.iov_base = &data;
    SHOW("sendmsg SCM_CREDENTIALS", sendmsg(sv[0], &msg, 0));
    memset(&ctl, 0, sizeof ctl);
    in.msg_control = ctl.buf;
    in.msg_controllen = sizeof ctl.buf;
    iov.iov_base = &got;
    SHOW("recvmsg SCM_CREDENTIALS", recvmsg(sv[1], &in, 0));
    cm = CMSG_FIRSTHDR(&in);
    struct ucred them = {0};
    if (cm && cm->cmsg_type == SCM_CREDENTIALS)
        memcpy(&them, CMSG_DATA(cm), sizeof them);
    printf("type %d len %u controllen %u pid ok %d uid ok %d gid ok %d\n", cm ? cm->cmsg_type : -1,
           cm ? (unsigned)cm->cmsg_len : 0, (unsigned)in.msg_controllen, them.pid == getpid(),
           them.uid == getuid(), them.gid == getgid());
    struct ucred peer;
    socklen_t plen = sizeof peer;
    SHOW("getsockopt SO_PEERCRED", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &peer, &plen));
    printf("peer pid ok %d len %u\n", peer.pid == getpid(), (unsigned)plen);

    /* credentials and a descriptor together, through the direct syscalls, into a small buffer */
    close(pp[1]);
    pipe(pp);
    union { char buf[CMSG_SPACE(sizeof me) + CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } two;
    memset(&two, 0, sizeof two);
    msg.msg_control = two.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int));
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &pp[1], sizeof(int));
    iov.iov_base = &data;
    SHOW("sendmsg fd (direct)", syscall(SYS_sendmsg, sv[0], &msg, 0));
    union { char buf[64]; struct cmsghdr align; } big;
    memset(&big, 0, sizeof big);
    in.msg_control = big.buf;
    in.msg_controllen = sizeof big.buf;
    iov.iov_base = &got;
    SHOW("recvmsg creds+fd (direct)", syscall(SYS_recvmsg, sv[1], &in, 0));
    int n = 0;
    for (cm = CMSG_FIRSTHDR(&in); cm; cm = CMSG_NXTHDR(&in, cm))
        printf("  cmsg %d: level %d type %d len %u\n", n++, cm->cmsg_level, cm->cmsg_type, (unsigned)cm->cmsg_len);
    printf("controllen %u flags %#x\n", (unsigned)in.msg_controllen, in.msg_flags);
    for (cm = CMSG_FIRSTHDR(&in); cm; cm = CMSG_NXTHDR(&in, cm))
        if (cm->cmsg_type == SCM_RIGHTS) {
            memcpy(&fd, CMSG_DATA(cm), sizeof fd);
            SHOW("write to passed pipe end", write(fd, "y", 1));
            close(fd);
        }
    iov.iov_base = &data;
    SHOW("sendmsg fd again", syscall(SYS_sendmsg, sv[0], &msg, 0));
    memset(&ctl, 0, sizeof ctl);
    in.msg_control = ctl.buf;
    in.msg_controllen = sizeof ctl.buf;
    iov.iov_base = &got;
    SHOW("recvmsg creds, no room for fd", recvmsg(sv[1], &in, 0));
    printf("controllen %u flags %#x next fd %d\n", (unsigned)in.msg_controllen, in.msg_flags, dup(0));
    SHOW("sendmsg socketcall", ({ msg.msg_controllen = 0; msg.msg_control = NULL; iov.iov_base = &data;
        sc(SYS_SENDMSG, sv[0], (unsigned long)&msg, 0, 0, 0, 0); }));
    in.msg_controllen = 0;
    in.msg_control = NULL;
    iov.iov_base = &got;
    SHOW("recvmsg socketcall", sc(SYS_RECVMSG, sv[1], (unsigned long)&in, 0, 0, 0, 0));
    char y = 0;
    SHOW("read what went through it", read(pp[0], &y, 1));
    printf("got '%c'\n", y);
    close(pp[0]);
    close(pp[1]);
    close(sv[0]);
    close(sv[1]);
}

static void timeouts(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval tv = {1, 500000}, back = {0, 0};
    socklen_t len = sizeof back;
    SHOW("setsockopt SO_RCVTIMEO", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    SHOW("getsockopt SO_RCVTIMEO", getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &back, &len));
    printf("timeout %ld.%06ld len %u\n", (long)back.tv_sec, (long)back.tv_usec, (unsigned)len);
    len = 4;
    SHOW("getsockopt SO_RCVTIMEO short", getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &back, &len));
    printf("len %u\n", (unsigned)len);
    SHOW("setsockopt SO_RCVTIMEO short", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, 4));
    SHOW("setsockopt SO_RCVTIMEO bad usec", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO,
                                                        &(struct timeval){0, 2000000}, sizeof tv));
    long long tv64[2] = {0, 0};
    len = sizeof tv64;
    SHOW("getsockopt SO_RCVTIMEO_NEW", getsockopt(sv[0], SOL_SOCKET, 66, tv64, &len));
    printf("timeout64 %lld.%06lld len %u\n", tv64[0], tv64[1], (unsigned)len);
    tv.tv_sec = 0;
    tv.tv_usec = 20000;
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    SHOW("recv with 20 ms timeout", recv(sv[0], &c, 1, 0));
    tv.tv_usec = 30000;
    SHOW("setsockopt SO_SNDTIMEO", setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    len = sizeof back;
    getsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &back, &len);
    printf("sndtimeo %ld.%06ld\n", (long)back.tv_sec, (long)back.tv_usec);
    struct linger lg = {1, 5}, lg2;
    len = sizeof lg2;
    SHOW("setsockopt SO_LINGER", setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    SHOW("getsockopt SO_LINGER", getsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg2, &len));
    printf("linger %d %d len %u\n", lg2.l_onoff, lg2.l_linger, (unsigned)len);
    close(sv[0]);
    close(sv[1]);
}

static void inet(void) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("tcp bind 127.0.0.1:0", bind(srv, (struct sockaddr *)&a, sizeof a));
    SHOW("tcp listen", listen(srv, 8));
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    getsockname(srv, (struct sockaddr *)&bound, &blen);
    printf("bound family %d addr %s port nonzero %d len %u\n", bound.sin_family, inet_ntoa(bound.sin_addr),
           bound.sin_port != 0, (unsigned)blen);

    int cli = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    errno = 0;
    int r = connect(cli, (struct sockaddr *)&bound, sizeof bound);
    printf("nonblocking connect started %d\n", r == 0 || errno == EINPROGRESS);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int acc = accept(srv, (struct sockaddr *)&peer, &plen);
    printf("accept ok %d peer family %d len %u\n", acc >= 0, peer.sin_family, (unsigned)plen);
    int soerr = -1;
    socklen_t elen = sizeof soerr;
    struct timespec ms = {0, 20000000};
    nanosleep(&ms, NULL);
    SHOW("getsockopt SO_ERROR", getsockopt(cli, SOL_SOCKET, SO_ERROR, &soerr, &elen));
    printf("so_error %d\n", soerr);
    struct sockaddr_in mine;
    socklen_t mlen = sizeof mine;
    getsockname(cli, (struct sockaddr *)&mine, &mlen);
    printf("peer is client %d\n", mine.sin_port == peer.sin_port && mine.sin_addr.s_addr == peer.sin_addr.s_addr);
    int nodelay = 1;
    SHOW("setsockopt TCP_NODELAY", setsockopt(acc, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay));
    nodelay = 0;
    socklen_t nlen = sizeof nodelay;
    getsockopt(acc, IPPROTO_TCP, TCP_NODELAY, &nodelay, &nlen);
    printf("nodelay %d\n", nodelay != 0);
    SHOW("tcp send", send(acc, "over tcp", 8, 0));
    char buf[32] = {0};
    nanosleep(&ms, NULL);
    SHOW("tcp recv", recv(cli, buf, sizeof buf, 0));
    printf("got '%s'\n", buf);
    SHOW("tcp shutdown client", shutdown(cli, SHUT_WR));
    SHOW("tcp recv eof", recv(acc, buf, sizeof buf, 0));
    SHOW("tcp shutdown bad how", shutdown(cli, 7));
    close(acc);
    close(cli);
    /* blocking connect into the backlog, then accept */
    cli = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("tcp blocking connect", connect(cli, (struct sockaddr *)&bound, sizeof bound));
    acc = accept4(srv, NULL, NULL, SOCK_NONBLOCK);
    printf("accept4 nonblock %d\n", (fcntl(acc, F_GETFL) & O_NONBLOCK) != 0);
    SHOW("accept4 none pending", accept4(srv, NULL, NULL, 0x40000000));
    close(acc);
    close(cli);
    close(srv);
    SHOW("connect refused", ({ int c = socket(AF_INET, SOCK_STREAM, 0);
        int rr = connect(c, (struct sockaddr *)&bound, sizeof bound); int e = errno; close(c); errno = e; rr; }));

    /* UDP on loopback */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    bind(u1, (struct sockaddr *)&a, sizeof a);
    bind(u2, (struct sockaddr *)&a, sizeof a);
    struct sockaddr_in n1, n2, from;
    socklen_t l1 = sizeof n1, l2 = sizeof n2, fl = sizeof from;
    getsockname(u1, (struct sockaddr *)&n1, &l1);
    getsockname(u2, (struct sockaddr *)&n2, &l2);
    SHOW("udp sendto", sendto(u1, "udp!", 4, 0, (struct sockaddr *)&n2, l2));
    memset(buf, 0, sizeof buf);
    SHOW("udp recvfrom", recvfrom(u2, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
    printf("got '%s' from u1 %d len %u\n", buf, from.sin_port == n1.sin_port, (unsigned)fl);
    SHOW("udp sendto bad addr", sendto(u1, "x", 1, 0, (struct sockaddr *)8, l2));
    SHOW("udp sendto addrlen 200", sendto(u1, "x", 1, 0, (struct sockaddr *)&n2, 200));
    SHOW("udp sendto bad buffer", sendto(u1, (void *)8, 1, 0, (struct sockaddr *)&n2, l2));

    /* sendmmsg / recvmmsg */
    char m1[] = "first", m2[] = "second!", r1[16] = {0}, r2[16] = {0};
    struct iovec v[2] = {{m1, 5}, {m2, 7}}, w[2] = {{r1, sizeof r1}, {r2, sizeof r2}};
    struct mmsghdr out[2] = {{.msg_hdr = {.msg_name = &n2, .msg_namelen = l2, .msg_iov = &v[0], .msg_iovlen = 1}},
                             {.msg_hdr = {.msg_name = &n2, .msg_namelen = l2, .msg_iov = &v[1], .msg_iovlen = 1}}};
    struct sockaddr_in f1, f2;
    struct mmsghdr inm[2] = {{.msg_hdr = {.msg_name = &f1, .msg_namelen = sizeof f1, .msg_iov = &w[0], .msg_iovlen = 1}},
                             {.msg_hdr = {.msg_name = &f2, .msg_namelen = sizeof f2, .msg_iov = &w[1], .msg_iovlen = 1}}};
    SHOW("sendmmsg", sendmmsg(u1, out, 2, 0));
    printf("lens %u %u\n", out[0].msg_len, out[1].msg_len);
    struct timespec to = {1, 0};
    nanosleep(&ms, NULL);
    SHOW("recvmmsg", syscall(SYS_recvmmsg, u2, inm, 2, MSG_DONTWAIT, &to));
    printf("got '%s' '%s' lens %u %u namelens %u %u from u1 %d\n", r1, r2, inm[0].msg_len, inm[1].msg_len,
           inm[0].msg_hdr.msg_namelen, inm[1].msg_hdr.msg_namelen, f1.sin_port == n1.sin_port);
    SHOW("recvmmsg empty", syscall(SYS_recvmmsg, u2, inm, 2, MSG_DONTWAIT, NULL));
    close(u1);
    close(u2);
}

static int sv_sig[2];
static volatile int futex_word;

static void on_alarm(int sig) {
    (void)sig;
    send(sv_sig[1], "!", 1, 0);
}

static void on_alarm_futex(int sig) {
    (void)sig;
    futex_word = 1;
}

static void arm(int ms) {
    struct itimerval it = {{0, 0}, {0, ms * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void handler(void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, NULL);
}

static void interrupted(void) {
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv_sig);
    char c = 0;
    handler(on_alarm, SA_RESTART);
    arm(100);
    SHOW("recv restarted (SA_RESTART)", recv(sv_sig[0], &c, 1, 0));
    printf("got '%c'\n", c);
    handler(on_alarm, 0);
    arm(100);
    SHOW("recv interrupted (no SA_RESTART)", recv(sv_sig[0], &c, 1, 0));
    SHOW("recv the handler's byte", recv(sv_sig[0], &c, 1, 0));
    struct timeval tv = {5, 0};
    setsockopt(sv_sig[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    handler(on_alarm, SA_RESTART);
    arm(100);
    SHOW("recv with timeout, SA_RESTART", recv(sv_sig[0], &c, 1, 0));
    recv(sv_sig[0], &c, 1, 0);

    handler(on_alarm_futex, SA_RESTART);
    futex_word = 0;
    arm(100);
    SHOW("futex wait restarted", syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    futex_word = 0;
    arm(100);
    struct timespec ts = {5, 0};
    SHOW("futex wait timeout, SA_RESTART", syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0));
    handler(SIG_DFL, 0);
    close(sv_sig[0]);
    close(sv_sig[1]);
}

static void futexes(void) {
    static int word, word2;
    struct timespec ts = {0, 10000000};
    struct { long long sec, nsec; } ts64 = {0, 10000000};
    word = 0;
    SHOW("futex WAIT mismatch", syscall(SYS_futex, &word, FUTEX_WAIT, 1, NULL, NULL, 0));
    SHOW("futex WAIT 10 ms", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0));
    SHOW("futex_time64 WAIT 10 ms", syscall(422, &word, FUTEX_WAIT_PRIVATE, 0, &ts64, NULL, 0));
    SHOW("futex WAKE", syscall(SYS_futex, &word, FUTEX_WAKE, 1, NULL, NULL, 0));
    SHOW("futex WAKE private", syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0));
    SHOW("futex WAIT misaligned", syscall(SYS_futex, (char *)&word + 1, FUTEX_WAIT, 0, NULL, NULL, 0));
    SHOW("futex WAIT bad address", syscall(SYS_futex, (int *)16, FUTEX_WAIT, 0, NULL, NULL, 0));
    SHOW("futex WAKE private unmapped", syscall(SYS_futex, (int *)16, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    SHOW("futex WAKE shared unmapped", syscall(SYS_futex, (int *)16, FUTEX_WAKE, 1, NULL, NULL, 0));
    SHOW("futex WAIT bad timespec ptr", syscall(SYS_futex, &word, FUTEX_WAIT, 0, (void *)16, NULL, 0));
    SHOW("futex WAIT nsec 2e9", syscall(SYS_futex, &word, FUTEX_WAIT, 0, &(struct timespec){0, 2000000000},
                                         NULL, 0));
    SHOW("futex WAIT negative sec", syscall(SYS_futex, &word, FUTEX_WAIT, 0, &(struct timespec){-1, 0}, NULL, 0));
    SHOW("futex WAIT CLOCK_REALTIME", syscall(SYS_futex, &word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 0, &ts, NULL, 0));
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 10000000;
    if (now.tv_nsec >= 1000000000) { now.tv_sec++; now.tv_nsec -= 1000000000; }
    SHOW("futex WAIT_BITSET deadline", syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &now, NULL,
                                               FUTEX_BITSET_MATCH_ANY));
    clock_gettime(CLOCK_REALTIME, &now);
    SHOW("futex WAIT_BITSET realtime past", syscall(SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME,
                                                    0, &now, NULL, FUTEX_BITSET_MATCH_ANY));
    SHOW("futex WAIT_BITSET bitset 0", syscall(SYS_futex, &word, FUTEX_WAIT_BITSET, 0, &now, NULL, 0));
    SHOW("futex WAKE_BITSET", syscall(SYS_futex, &word, FUTEX_WAKE_BITSET, 1, NULL, NULL, 1));
    SHOW("futex REQUEUE", syscall(SYS_futex, &word, FUTEX_REQUEUE_PRIVATE, 1, (void *)1, &word2, 0));
    SHOW("futex CMP_REQUEUE match", syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE, 1, (void *)1, &word2, 0));
    SHOW("futex CMP_REQUEUE mismatch", syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE, 1, (void *)1, &word2, 7));
    SHOW("futex CMP_REQUEUE val2 -1", syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE, 1, (void *)-1, &word2, 0));
    word2 = 10;
    SHOW("futex WAKE_OP add 5", syscall(SYS_futex, &word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &word2,
                                        FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 10)));
    printf("word2 %d\n", word2);
    SHOW("futex WAKE_OP bad uaddr2", syscall(SYS_futex, &word, FUTEX_WAKE_OP, 1, (void *)1, (int *)16,
                                             FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 10)));
    word = 0;
    SHOW("futex LOCK_PI", syscall(SYS_futex, &word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("owner is me %d\n", (word & FUTEX_TID_MASK) == syscall(SYS_gettid));
    SHOW("futex TRYLOCK_PI own", syscall(SYS_futex, &word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    SHOW("futex LOCK_PI own", syscall(SYS_futex, &word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    SHOW("futex UNLOCK_PI", syscall(SYS_futex, &word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("word %d\n", word);
    SHOW("futex UNLOCK_PI not owner", syscall(SYS_futex, &word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    SHOW("futex TRYLOCK_PI", syscall(SYS_futex, &word, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0));
    SHOW("futex UNLOCK_PI again", syscall(SYS_futex, &word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
    SHOW("futex LOCK_PI2 deadline", syscall(SYS_futex, &word, 13 | FUTEX_PRIVATE_FLAG, 0, &now, NULL, 0));
    SHOW("futex UNLOCK_PI after PI2", syscall(SYS_futex, &word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    SHOW("futex FD (gone)", syscall(SYS_futex, &word, 2, 0, NULL, NULL, 0));
    SHOW("futex op 99", syscall(SYS_futex, &word, 99, 0, NULL, NULL, 0));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    unix_pairs();
    named();
    pass_fds();
    timeouts();
    inet();
    interrupted();
    futexes();

    int pp[2];
    pipe(pp);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    SHOW("getpeername on a pipe", getpeername(pp[0], (struct sockaddr *)&ss, &sl));
    SHOW("getpeername(0)", getpeername(0, (struct sockaddr *)&ss, &sl));
    SHOW("getsockname bad fd", getsockname(999, (struct sockaddr *)&ss, &sl));
    SHOW("socketcall 0", syscall(SYS_socketcall, 0, NULL));
    SHOW("socketcall 21", syscall(SYS_socketcall, 21, NULL));
    SHOW("socketcall bad args", syscall(SYS_socketcall, SYS_SOCKET, (void *)16));
    SHOW("socket bad family", socket(12345, SOCK_STREAM, 0));
    SHOW("recvmsg on a pipe", recvmsg(pp[0], &(struct msghdr){0}, 0));
    SHOW("recvmsg bad fd bad msg", recvmsg(999, (struct msghdr *)16, 0));
    SHOW("next socket fd", socket(AF_UNIX, SOCK_STREAM, 0));
    return 0;
}
