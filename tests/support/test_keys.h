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

// A test CA in `dir` (ca.key, ca.pem), and certificates it signs (dir/<name>.pem and .key, P-256,
// valid two days) for `subjectAltName` (e.g. "IP:127.0.0.1,DNS:node-0"). Throw on failure.
void makeTestCa(const std::string& dir);
void makeTestCertificate(const std::string& dir, const std::string& name,
                         const std::string& subjectAltName);

} // namespace day2::test
