#include "interrupt.h"

#include <signal.h>

#include <cstring>

namespace avts {

namespace {

volatile sig_atomic_t received = 0;
struct sigaction previous_int, previous_term;

void on_signal(int signal) { received = signal; }  // async-signal-safe: one store

}  // namespace

InterruptGuard::InterruptGuard() {
  received = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second signal takes the default action
  sigaction(SIGINT, &action, &previous_int);
  sigaction(SIGTERM, &action, &previous_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
}

int interrupted() { return received; }

void throw_if_interrupted() {
  if (const int signal = received) throw Interrupted{signal};
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return strsignal(signal);
  }
}

}  // namespace avts
