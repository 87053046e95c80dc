#include "ledger/monitors.h"

#include <array>

namespace ledger {
namespace {

constexpr std::array<std::string_view, 3> field_names = {"available", "posted", "pending"};
constexpr std::array<std::string_view, 4> operator_texts = {"<", "<=", ">", ">="};

}  // namespace

std::string_view field_name(BalanceField field) {
  const auto i = static_cast<std::size_t>(field);
  return i < field_names.size() ? field_names[i] : std::string_view{};
}

std::optional<BalanceField> parse_balance_field(std::string_view name) {
  for (std::size_t i = 0; i < field_names.size(); ++i) {
    if (field_names[i] == name) return static_cast<BalanceField>(i);
  }
  return std::nullopt;
}

std::string_view operator_text(BalanceOperator op) {
  const auto i = static_cast<std::size_t>(op);
  return i < operator_texts.size() ? operator_texts[i] : std::string_view{};
}

std::optional<BalanceOperator> parse_balance_operator(std::string_view text) {
  for (std::size_t i = 0; i < operator_texts.size(); ++i) {
    if (operator_texts[i] == text) return static_cast<BalanceOperator>(i);
  }
  return std::nullopt;
}

}  // namespace ledger
