#include "support/xsd.h"

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include <cstdarg>
#include <cstdio>
#include <memory>

namespace ledger::testing {
namespace {

void collect(void* context, const char* format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  static_cast<std::string*>(context)->append(text);
}

}  // namespace

std::string xsd_errors(std::string_view xml, const std::string& schema) {
  std::string errors;
  const std::string path = std::string(LEDGER_SCHEMAS_DIR) + "/" + schema;
  std::unique_ptr<xmlSchemaParserCtxt, decltype(&xmlSchemaFreeParserCtxt)> parser(
      xmlSchemaNewParserCtxt(path.c_str()), xmlSchemaFreeParserCtxt);
  if (!parser) return "cannot read the schema " + path;
  xmlSchemaSetParserErrors(parser.get(), collect, collect, &errors);
  std::unique_ptr<xmlSchema, decltype(&xmlSchemaFree)> parsed(xmlSchemaParse(parser.get()),
                                                              xmlSchemaFree);
  if (!parsed) return "the schema " + path + " does not parse: " + errors;
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "document.xml", nullptr,
                    XML_PARSE_NONET),
      xmlFreeDoc);
  if (!doc) return "the document is not well-formed XML";
  std::unique_ptr<xmlSchemaValidCtxt, decltype(&xmlSchemaFreeValidCtxt)> valid(
      xmlSchemaNewValidCtxt(parsed.get()), xmlSchemaFreeValidCtxt);
  xmlSchemaSetValidErrors(valid.get(), collect, collect, &errors);
  const int result = xmlSchemaValidateDoc(valid.get(), doc.get());
  if (result != 0 && errors.empty())
    errors = "invalid (libxml2 code " + std::to_string(result) + ")";
  return errors;
}

}  // namespace ledger::testing
