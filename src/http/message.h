// HTTP messages of the REST API and the one builder of problem answers (RFC 9457
// application/problem+json with a stable machine-readable "code"). Pure: Beast's message
// types only, no sockets, no coroutines.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace ledger::http {

namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using RequestHeader = bhttp::request_header<>;
using Response = bhttp::response<bhttp::string_body>;

// A problem answer before it is rendered.
struct Problem {
  Problem() = default;
  Problem(bhttp::status s, std::string c, std::string d, std::string f = {})
      : status(s), code(std::move(c)), detail(std::move(d)), field(std::move(f)) {}

  bhttp::status status = bhttp::status::internal_server_error;
  std::string code;    // stable: "exceeds_available", "invalid_field", ...
  std::string detail;  // for people
  std::string field;   // 400: the field or query parameter at fault ("" for the whole body)
  nlohmann::json members = nlohmann::json::object();  // more members (transfer, failed_index)
  std::string retry_after;                            // seconds: 429, 503
  std::string allow;                                  // 405: the methods the route takes
  bool authenticate = false;                          // 401: WWW-Authenticate: Bearer
};

Response render(const Problem& problem, unsigned version);
// JSON text of an answer. Strings that are not valid UTF-8 (an echoed header, a name stored
// by a client) are repaired with U+FFFD instead of failing the answer.
std::string dump_json(const nlohmann::json& value);
// Shorthand for a problem with only status, code and detail.
Response make_problem(bhttp::status status, std::string_view code, std::string_view detail,
                      unsigned version = 11);
Response make_json(bhttp::status status, std::string body, unsigned version = 11);

}  // namespace ledger::http
