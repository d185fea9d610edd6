/* main.c -- prodwatch entry point; everything lives in the library. */
#include <fcntl.h>
#include <unistd.h>

#include "cli.h"

/* A standard descriptor the caller closed would be taken by the first
 * socket or file opened, and output meant for stdout would go into it.
 * Hold each such slot with /dev/null opened read-only: a write to it then
 * fails, and `once` reports that instead of writing into a connection. */
static void hold_std_fds(void)
{
    int fd;

    for (fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDONLY) != fd)
            _exit(2);
}

int main(int argc, char **argv)
{
    hold_std_fds();
    return cli_main(argc, argv);
}
