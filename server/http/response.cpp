#include "http/response.h"

#include "base/text.h"

namespace day2::http {

std::string_view reasonPhrase(unsigned status) {
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

Response jsonError(unsigned status, std::string_view detail) {
    Response r;
    r.status = status;
    r.body = "{\"code\":" + std::to_string(status) + ",\"error\":\"";
    text::appendJsonEscaped(r.body, reasonPhrase(status));
    r.body += "\",\"detail\":\"";
    text::appendJsonEscaped(r.body, text::isValidUtf8(detail) ? detail : "(detail not UTF-8)");
    r.body += "\"}\n";
    return r;
}

} // namespace day2::http
