// Which split of a manifest an evaluation takes: the one the trainer used for each entry.
#include "avts/eval.h"
#include "train_internal.h"

namespace avts {

Split resolved_split(Split tag, const std::string& id) {
  if (tag != Split::Auto) return tag;
  // The trainer's rule for untagged files (Trainer::add_file), at its default fraction.
  return train::auto_is_validation(id, TrainOptions().validation_fraction) ? Split::Validation : Split::Train;
}

}  // namespace avts
