// Status: the result of an operation that can fail for operating reasons (I/O, config, SQL).
// Business outcomes are enums (see engine), never Status.
#pragma once

#include <string>
#include <utility>

namespace ledger {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace ledger
