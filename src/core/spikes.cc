#include "ledger/spikes.h"

namespace ledger {

std::string_view scope_name(SpikeScope scope) {
  switch (scope) {
    case SpikeScope::card:
      return "card";
    case SpikeScope::holder:
      return "holder";
    case SpikeScope::account:
      break;
  }
  return "account";
}

std::string_view direction_name(SpikeDirection direction) {
  return direction == SpikeDirection::in ? "in" : "out";
}

}  // namespace ledger
