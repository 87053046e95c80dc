#include <algorithm>

#include "ledger/types.h"

namespace ledger {

void apply_controls_patch(const CardControlsPatch& patch, CardControls* controls) {
  const CardControls& v = patch.values;
  if ((patch.fields & control_per_authorization_limit) != 0)
    controls->per_authorization_limit = v.per_authorization_limit;
  if ((patch.fields & control_daily_limit) != 0) controls->daily_limit = v.daily_limit;
  if ((patch.fields & control_monthly_limit) != 0) controls->monthly_limit = v.monthly_limit;
  if ((patch.fields & control_daily_count_limit) != 0)
    controls->daily_count_limit = v.daily_count_limit;
  if ((patch.fields & control_blocked_mccs) != 0) {
    controls->blocked_mcc_count =
        std::min<std::uint8_t>(v.blocked_mcc_count, card_blocked_mccs_max);
    std::copy_n(v.blocked_mccs, card_blocked_mccs_max, controls->blocked_mccs);
  }
  controls->channels = static_cast<std::uint8_t>(
      ((controls->channels | patch.channels_on) & ~patch.channels_off) & channels_all);
}

}  // namespace ledger
