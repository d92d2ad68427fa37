// Which split of a manifest an evaluation takes: the one the trainer used for each entry.
// Public headers only: no LibTorch here.
#include "avts/eval.h"
#include "avts/train.h"

namespace avts {

Split resolved_split(Split tag, const std::string& id) {
  if (tag != Split::Auto) return tag;
  // The trainer's rule for untagged files (Trainer::add_file), at its default fraction.
  return auto_is_validation(id, TrainOptions().validation_fraction) ? Split::Validation : Split::Train;
}

}  // namespace avts
