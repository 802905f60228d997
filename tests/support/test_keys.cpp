#include "test_keys.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace day2::test {

namespace {
std::string drain(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<size_t>(n));
    BIO_free(b);
    return s;
}
} // namespace

TestKey generateKey(const std::string& type, const std::string& param) {
    EVP_PKEY* key = type == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                                                      static_cast<size_t>(std::stoul(param)))
                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param.c_str());
    if (!key)
        throw std::runtime_error("cannot generate a " + type + " " + param + " key");
    TestKey k;
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    k.privatePem = drain(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, key);
    k.publicPem = drain(b);
    EVP_PKEY_free(key);
    return k;
}

void writeTextFile(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::trunc);
    if (!(out << content))
        throw std::runtime_error("cannot write " + path);
}

namespace {

void runOrThrow(const std::string& command) {
    if (std::system(command.c_str()) != 0)
        throw std::runtime_error("failed: " + command);
}

} // namespace

void makeTestCa(const std::string& dir) {
    runOrThrow("cd '" + dir +
               "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
               "-keyout ca.key -out ca.pem -days 2 -subj '/CN=day2 test CA' 2>/dev/null");
}

void makeTestCertificate(const std::string& dir, const std::string& name,
                         const std::string& subjectAltName) {
    writeTextFile(dir + "/" + name + ".ext", "subjectAltName=" + subjectAltName + "\n");
    runOrThrow("cd '" + dir + "' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
               "-nodes -keyout " + name + ".key -out " + name + ".csr -subj '/CN=" + name +
               "' 2>/dev/null && openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key "
               "-CAcreateserial -out " + name + ".pem -days 2 -extfile " + name +
               ".ext 2>/dev/null");
}

} // namespace day2::test
