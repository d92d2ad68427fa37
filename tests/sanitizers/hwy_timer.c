/* Loaded (LD_PRELOAD) into the programs that tests/sanitizers/run.sh runs under valgrind.
 *
 * Debian's LibTorch links libavcodec -> libjxl -> libhwy, so every program of ours loads
 * libhwy, whose start-up code measures its timer with RDTSCP (hwy::platform::TimerResolution,
 * called through the PLT from an initializer). Valgrind 3.19 decodes RDTSCP only when CPUID
 * lists it, and some virtual machines hide it while the CPU still runs it: there the program
 * dies with SIGILL under valgrind before any of its own code runs. This definition takes the
 * place of libhwy's, so no RDTSCP runs at start-up. libhwy's timers serve JPEG XL's own
 * benchmarking, which nothing of ours calls; memory behaviour is unchanged. */
#include <stdint.h>

/* hwy::platform::TimerResolution(): the smallest measurable tick count; libhwy keeps it for
 * its benchmark helpers. */
uint64_t _ZN3hwy8platform15TimerResolutionEv(void) { return 1; }
