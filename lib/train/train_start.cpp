// How a training run starts (avtstrain, and so `avts train`): the precision rule, then the
// model resumed, loaded or created. Public headers only: no LibTorch here.
#include "avts/error.h"
#include "avts/train.h"

namespace avts {

void check_train_precision(Precision precision, const std::string& device) {
  if (precision == Precision::Float16)
    throw Error("precision float16 cannot train (it would need loss scaling): train in bfloat16 or float32");
  if (precision != Precision::Float32 && device.rfind("cuda", 0) != 0)
    throw Error(std::string("precision ") + precision_name(precision) +
                " needs a CUDA device to train (device cuda); on the CPU train in float32");
}

StartedRun start_run(const RunStart& start, const TrainOptions& options) {
  check_train_precision(start.precision, start.device);
  StartedRun run;
  if (!start.resume.empty()) {
    if (options.epochs <= 0)
      throw Error("resume needs epochs: the number of epochs the whole run trains, the resumed ones included");
    if (!start.init.empty())
      throw Error("resume and model-file (--init) exclude each other: the checkpoint brings the model");
    run.resumed = Trainer::resume(start.resume, options, start.device);
    run.model = run.resumed->model();
    run.first_epoch = run.resumed->epoch();
  } else if (!start.init.empty()) {
    run.model = Model::load(start.init, start.device);
  } else {
    ModelConfig config = ModelConfig::preset_config(start.preset);
    config.provenance["created-by"] = start.created_by;
    config.provenance["trained"] = "yes";
    run.model = Model::create(config, start.seed, start.device);
  }
  run.model->set_precision(start.precision);
  return run;
}

}  // namespace avts
