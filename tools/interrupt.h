// A graceful stop for long commands (avts train): while an InterruptGuard lives, the first
// SIGINT or SIGTERM only records the signal; the command polls interrupted() at points where
// its state is consistent, saves what it must and exits. The handler then reverts to the
// default, so a second signal ends the process at once.
#pragma once

namespace avts {

// Thrown by throw_if_interrupted(). Not an avts::Error: code that skips bad inputs on
// avts::Error must not swallow a stop request.
struct Interrupted {
  int signal;
};

class InterruptGuard {
 public:
  InterruptGuard();   // installs the SIGINT and SIGTERM handlers
  ~InterruptGuard();  // restores the previous ones
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// The signal received while a guard was installed, 0 if none.
int interrupted();
void throw_if_interrupted();

// "SIGINT", "SIGTERM", ...
const char* signal_name(int signal);

}  // namespace avts
