#include "http/message.h"

namespace ledger::http {

Response make_json(bhttp::status status, std::string body, unsigned version) {
  Response response{status, version};
  response.set(bhttp::field::content_type, "application/json");
  response.set(bhttp::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response render(const Problem& problem, unsigned version) {
  const auto reason = bhttp::obsolete_reason(problem.status);
  nlohmann::json body = {{"type", "urn:ledgerd:problem:" + problem.code},
                         {"title", std::string(reason.data(), reason.size())},
                         {"status", static_cast<unsigned>(problem.status)},
                         {"detail", problem.detail},
                         {"code", problem.code}};
  if (!problem.field.empty()) body["field"] = problem.field;
  for (const auto& [name, value] : problem.members.items()) body[name] = value;
  Response response = make_json(problem.status, dump_json(body), version);
  response.set(bhttp::field::content_type, "application/problem+json");
  if (!problem.retry_after.empty()) response.set(bhttp::field::retry_after, problem.retry_after);
  if (!problem.allow.empty()) response.set(bhttp::field::allow, problem.allow);
  if (problem.authenticate)
    response.set(bhttp::field::www_authenticate, "Bearer realm=\"ledgerd\"");
  return response;
}

Response make_problem(bhttp::status status, std::string_view code, std::string_view detail,
                      unsigned version) {
  return render(Problem{status, std::string(code), std::string(detail)}, version);
}

}  // namespace ledger::http
