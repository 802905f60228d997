// Key pairs generated for a test with OpenSSL (PEM), and a small file writer.
#pragma once

#include <string>

namespace day2::test {

struct TestKey {
    std::string privatePem;
    std::string publicPem;
};

// type "RSA" with param bits ("2048"), or "EC" with a curve ("P-256").
TestKey generateKey(const std::string& type, const std::string& param);

void writeTextFile(const std::string& path, const std::string& content);

} // namespace day2::test
