// The subcommands of the avts command. Each takes its own argv (argv[0] is the
// subcommand's name), prints its result, and returns the process exit code.
#pragma once

#include <string>

namespace avts {

int cmd_info(int argc, char** argv);
int cmd_init(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_features(int argc, char** argv);
int cmd_probe(int argc, char** argv);  // built when liblinear is found (AVTS_HAVE_PROBE)
int cmd_sync(int argc, char** argv);
int cmd_train(int argc, char** argv);

// The model used when --model is not given: $AVTS_MODEL, else the shipped one.
std::string default_model_path();

// Exit codes shared by all subcommands (sync uses 0/1 for pass/fail).
constexpr int kExitOk = 0;
constexpr int kExitError = 2;

}  // namespace avts
