/*
 * crange-reseed: run in a guest restored from a template's memory image
 * (instant clones). Every clone of a template wakes up with the same kernel
 * random state; this credits the bytes on stdin (from the host's random
 * source, through the guest agent) to the guest's input pool and forces the
 * kernel's CRNG to reseed from it at once, so that the clones' streams part
 * ways now, not at the kernel's next scheduled reseed (up to a minute).
 *
 * Usage: crange-reseed < 64 random bytes      (as root)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
    struct {
        struct rand_pool_info info;
        unsigned char bytes[64];
    } seed;
    size_t got = 0;
    while (got < sizeof seed.bytes) {
        ssize_t n = read(0, seed.bytes + got, sizeof seed.bytes - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < 32) {
        fprintf(stderr, "crange-reseed: expected 64 random bytes on stdin, got %zu\n", got);
        return 2;
    }
    seed.info.entropy_count = (int)(got * 8);
    seed.info.buf_size = (int)got;
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ioctl(fd, RNDADDENTROPY, &seed.info) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0) {
        fprintf(stderr, "crange-reseed: %s\n", strerror(errno));
        return 1;
    }
    memset(&seed, 0, sizeof seed);
    close(fd);
    return 0;
}
