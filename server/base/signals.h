// Between fork and exec: every signal's disposition back to the default, glibc's own (32 and 33,
// which its sigaction() refuses) included. exec() resets handled signals, but an ignored one
// stays ignored in the new program, and a parent that ignores one must not hand that on.
// Async-signal-safe: raw system calls only.
#pragma once

#include <csignal>
#include <cstdint>

#include <sys/syscall.h>
#include <unistd.h>

namespace day2 {

inline void resetSignalDispositions() {
    // The kernel's struct sigaction (rt_sigaction), not glibc's.
    struct KernelSigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)();
        uint64_t mask;
    };
    const KernelSigaction dfl{SIG_DFL, 0, nullptr, 0};
    for (int sig = 1; sig <= 64; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP)
            ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(uint64_t));
}

} // namespace day2
